"""DAGs of programs: the definition model, its parsing, validation and planning (pure)."""
