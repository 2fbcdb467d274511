"""Signatures: typed input/output contracts of LM programs, with a DRAFT → ACTIVE → DEPRECATED lifecycle."""
