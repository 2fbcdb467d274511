"""DAGs: programs (and transforms) wired by their inputs and outputs; DRAFT → ACTIVE → ARCHIVED,
each change of definition a new immutable version."""
