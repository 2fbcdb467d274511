"""Account operations: the signed-in user, its organization, users, passwords and API keys."""
