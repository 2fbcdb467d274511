"""Executions: one run of a program on one set of inputs, tracked from PENDING to a terminal state."""
