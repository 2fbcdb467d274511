"""Programs through the GraphQL API: creating, initializing, updating, cloning and archiving
them, their types, metrics and stats."""
