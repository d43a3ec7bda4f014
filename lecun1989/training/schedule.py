"""Every step's optimizer scalars, from the variant alone: the learning rate and Adam's bias corrections.

Step i of the run (0-based, i = epoch * n_train + position in the epoch) uses learning_rate(i), and
Adam divides its moments by 1 - b1**(i+1) and 1 - b2**(i+1), as optax does. The optax engines
(reference, XLA) get the same schedule as an optax schedule; the native engine gets the scalars.
"""

import jax.numpy as jnp
import optax

ADAM_B1, ADAM_B2, ADAM_EPS = 0.9, 0.999, 1e-8  # PyTorch's and optax's defaults


def learning_rate(variant, n_train: int) -> optax.ScalarOrSchedule:
    """The step size over the whole run: a float, or an optax schedule of the step count."""
    total = variant.epochs * n_train
    if variant.lr_schedule == "linear":
        return optax.linear_schedule(variant.lr, variant.lr_end, total)
    if variant.lr_schedule == "geometric_per_epoch":
        # lr during the first epoch, lr_end during the last, the same factor from each epoch to the next
        factor = (variant.lr_end / variant.lr) ** (1.0 / max(variant.epochs - 1, 1))
        return lambda count: variant.lr * jnp.float32(factor) ** (count // n_train)
    return variant.lr


def step_scalars(variant, n_train: int, epoch, n: int):
    """(n, 3) float32: for each step of the epoch its learning rate, 1 - b1**t and 1 - b2**t (t = step + 1)."""
    step = epoch * n_train + jnp.arange(n, dtype=jnp.int32)
    lr = learning_rate(variant, n_train)
    lr = lr(step) if callable(lr) else jnp.full(n, lr, jnp.float32)
    bc1 = bc2 = jnp.ones(n, jnp.float32)
    if variant.optimizer == "adamw":
        t = step + 1
        bc1, bc2 = 1 - ADAM_B1**t, 1 - ADAM_B2**t
    return jnp.stack([lr, bc1, bc2], axis=1).astype(jnp.float32)
