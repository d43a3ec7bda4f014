"""Training: the engine (its C++ CPU engine in native/), losses, optimizers, checkpoints and the checks
run after every epoch."""
