"""Executions: one run of a program on one set of inputs, from PENDING to a terminal state."""
