"""lecun1989: LeCun et al. 1989 reproduced in JAX/Flax/Optax, and what 33 years of practice changed.

Layers, bottom to top (a module imports only from its own layer or below; tests/test_layers.py):
pipeline/    the params schema (and its check stage), errors, output-path guards, crash-safe writes
runtime.py   the environment, and the JAX settings a stage applies once
data/        MNIST sources, the IDX format, the 1989-sized subset and its files on disk, a variant's runs
network/     the Flax reference model, its fast batch-1 layout and SDLM's second-derivative estimate
training/    the engines, losses, optimizers, checkpoints, progress and the checks run after every epoch
evaluation/  scores, the evaluate stage's files, learning curves and figures
reporting/   the README's results table and the reproduction check (verify)
"""
