"""Benchmark scripts for dspex-gql: each prints one JSON object to stdout (see README.md)."""
