"""The 1989 network: the readable Flax reference model and the fast layout the engine trains."""
