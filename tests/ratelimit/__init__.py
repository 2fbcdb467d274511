"""Rate limits: where the buckets live (this process or Redis), and what if Redis is down."""
