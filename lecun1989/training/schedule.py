"""Every step's optimizer scalars, from the variant alone: the learning rate and Adam's bias corrections.

Step i of the run (0-based, i = epoch * n_train + position in the epoch) uses learning_rate(i), and
Adam divides its moments by 1 - b1**(i+1) and 1 - b2**(i+1), as optax does. The optax engines
(reference, XLA) get the schedule as an optax schedule, computed in float32 by XLA; the native
engine gets `step_scalars`, the same formulas in float64 (Python's math, one operation after the
other) rounded once to float32: the same bits on every CPU.
"""

import math

import jax.numpy as jnp
import numpy as np
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


def _lr64(variant, n_train: int, step: int) -> float:
    """learning_rate(variant, n_train)(step) in float64."""
    if variant.lr_schedule == "linear":  # optax.linear_schedule's formula
        total = variant.epochs * n_train
        return (variant.lr - variant.lr_end) * (1.0 - min(step, total) / total) + variant.lr_end
    if variant.lr_schedule == "geometric_per_epoch":
        factor = (variant.lr_end / variant.lr) ** (1.0 / max(variant.epochs - 1, 1))
        return variant.lr * math.pow(factor, step // n_train)
    return variant.lr


def step_scalars_by_step(variant, n_train: int, epoch: int, n: int) -> np.ndarray:
    """step_scalars one step at a time: the definition (tests hold step_scalars to it)."""
    steps = range(epoch * n_train, epoch * n_train + n)
    adam = variant.optimizer == "adamw"
    rows = [
        (_lr64(variant, n_train, i), 1.0 - math.pow(ADAM_B1, i + 1) if adam else 1.0, 1.0 - math.pow(ADAM_B2, i + 1) if adam else 1.0)
        for i in steps
    ]
    return np.array(rows, np.float64).astype(np.float32)


def step_scalars(variant, n_train: int, epoch: int, n: int) -> np.ndarray:
    """(n, 3) float32: for each step of the epoch its learning rate, 1 - b1**t and 1 - b2**t (t = step + 1).
    step_scalars_by_step's bits, with numpy's float64 arithmetic (each operation rounded as Python's)
    over the whole epoch, and math.pow once per distinct power."""
    first = epoch * n_train
    steps = np.arange(first, first + n, dtype=np.int64)
    out = np.ones((n, 3), np.float64)
    if variant.lr_schedule == "linear":
        total = variant.epochs * n_train
        out[:, 0] = (variant.lr - variant.lr_end) * (1.0 - np.minimum(steps, total) / total) + variant.lr_end
    elif variant.lr_schedule == "geometric_per_epoch":
        factor = (variant.lr_end / variant.lr) ** (1.0 / max(variant.epochs - 1, 1))
        epochs, where = np.unique(steps // n_train, return_inverse=True)
        out[:, 0] = np.array([variant.lr * math.pow(factor, int(e)) for e in epochs])[where]
    else:
        out[:, 0] = variant.lr
    if variant.optimizer == "adamw":
        for column, b in ((1, ADAM_B1), (2, ADAM_B2)):
            out[:, column] = 1.0 - np.fromiter((math.pow(b, t) for t in range(first + 1, first + n + 1)), np.float64, n)
    return out.astype(np.float32)
