"""The pure runtime: signatures, adapters and custom programs; no database, GraphQL or I/O."""
