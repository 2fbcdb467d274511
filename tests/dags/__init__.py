"""DAGs through the GraphQL API: their definitions, what makes one invalid, their versions and
lifecycle (and, beside them, their runs)."""
