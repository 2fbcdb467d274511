"""dspex-gql: a GraphQL service that manages and runs DSPy-style LM programs."""

__version__ = "0.1.0"
