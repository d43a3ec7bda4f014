"""The optimizers a variant can name, as optax transformations over the whole run's steps."""

import optax

ADAM_B1, ADAM_B2, ADAM_EPS = 0.9, 0.999, 1e-8  # PyTorch's and optax's defaults


def make_optimizer(variant, total_steps: int) -> optax.GradientTransformation:
    lr = variant.lr
    if variant.lr_schedule == "linear":
        lr = optax.linear_schedule(variant.lr, variant.lr_end, total_steps)
    if variant.optimizer == "sgd":
        return optax.sgd(lr)
    return optax.adamw(lr, b1=ADAM_B1, b2=ADAM_B2, eps=ADAM_EPS, weight_decay=variant.weight_decay)
