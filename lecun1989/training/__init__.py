"""Training: the engine, losses, optimizers, checkpoints and the checks run after every epoch."""
