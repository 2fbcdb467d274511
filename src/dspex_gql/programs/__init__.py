"""Programs: predict, chain-of-thought, ReAct or custom modules bound to a signature."""
