"""Optimization runs through the API: every strategy end to end, repeatability, stop rules,
objectives and the Pareto frontier, failures, refused starts, cancelling, applying the best
configuration, lists and stats, variable importance and the audit trail.

Runs use the mock adapter with a simulated quality landscape (tests.support.optimizations), so
scores mean something; each test waits for the terminal state over the progress subscription,
never sleeps.
"""
