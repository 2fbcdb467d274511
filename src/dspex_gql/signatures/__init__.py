"""Signatures: typed input/output contracts of LM programs; DRAFT → ACTIVE → DEPRECATED."""
