"""Organizations, users and the actor a request runs as."""
