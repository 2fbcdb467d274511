"""Variable spaces through the GraphQL API: typed variables with dependencies, their metrics,
changes to them, sampled and validated configurations, the programs that use them, who may see
and change them, and their audit rows.

Metrics are computed by hand from the formula in `dspex_gql.engine.variables.metrics`:
discreteSpaceSize is the product of the discrete variables' value counts, complexityScore is
log10(discreteSpaceSize) + 2 * continuousDimensions + 0.5 * dependencies, and the difficulty is
EASY below 3, MEDIUM below 8, HARD below 15, else EXTREME.
"""
