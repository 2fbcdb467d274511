"""Lists: Relay connections, keyset pagination, filters and orderBy, as a client sees them.

Every test runs in an organization of its own, so a list holds exactly what the test created.
Classes whose tests only read share one organization (`shared_client`) and make their data once.
"""
