"""The optimizers a variant can name, as optax transformations over the whole run's steps."""

import jax.numpy as jnp
import optax

from lecun1989.training.sdlm import sdlm

ADAM_B1, ADAM_B2, ADAM_EPS = 0.9, 0.999, 1e-8  # PyTorch's and optax's defaults


def geometric_per_epoch(lr: float, lr_end: float, epochs: int, steps_per_epoch: int) -> optax.Schedule:
    """lr during the first epoch, lr_end during the last, falling by the same factor from each
    epoch to the next, constant within an epoch."""
    factor = (lr_end / lr) ** (1.0 / max(epochs - 1, 1))
    return lambda count: lr * jnp.float32(factor) ** (count // steps_per_epoch)


def learning_rate(variant, total_steps: int):
    """The step size: a float, or a schedule of the step count over the whole run."""
    if variant.lr_schedule == "linear":
        return optax.linear_schedule(variant.lr, variant.lr_end, total_steps)
    if variant.lr_schedule == "geometric_per_epoch":
        return geometric_per_epoch(variant.lr, variant.lr_end, variant.epochs, total_steps // variant.epochs)
    return variant.lr


def make_optimizer(variant, total_steps: int) -> optax.GradientTransformation:
    lr = learning_rate(variant, total_steps)
    if variant.optimizer == "sgd":
        return optax.sgd(lr)
    if variant.optimizer == "sdlm":
        return sdlm(lr, variant.sdlm.mu)  # update(...) needs hessian=h: see engine.Trainer
    return optax.adamw(lr, b1=ADAM_B1, b2=ADAM_B2, eps=ADAM_EPS, weight_decay=variant.weight_decay)
