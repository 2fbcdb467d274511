"""Organizations, users, API keys and sign-in (the actor a request runs as: `identity`)."""
