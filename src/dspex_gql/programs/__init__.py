"""Programs: predict / chain-of-thought / ReAct / custom modules bound to a signature and an adapter."""
