"""The optimizers a variant can name, as optax transformations over the whole run's steps."""

import optax

ADAM_B1, ADAM_B2, ADAM_EPS = 0.9, 0.999, 1e-8  # PyTorch's and optax's defaults


def learning_rate(variant, total_steps: int):
    """The step size: a float, or optax's schedule of the step count over the whole run."""
    if variant.lr_schedule == "linear":
        return optax.linear_schedule(variant.lr, variant.lr_end, total_steps)
    return variant.lr


def make_optimizer(variant, total_steps: int) -> optax.GradientTransformation:
    lr = learning_rate(variant, total_steps)
    if variant.optimizer == "sgd":
        return optax.sgd(lr)
    return optax.adamw(lr, b1=ADAM_B1, b2=ADAM_B2, eps=ADAM_EPS, weight_decay=variant.weight_decay)
