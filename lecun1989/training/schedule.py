"""Every step's optimizer scalars, from the variant alone: the learning rate and Adam's bias corrections.

Step i of the run (0-based, i = epoch * n_train + position in the epoch) uses step_learning_rate(i),
and Adam divides its moments by bias_corrections(i) = (1 - b1**(i+1), 1 - b2**(i+1)), as optax does:
these two, in float64 (Python's math, one operation after the other), are the definition. The native
engine gets `step_scalars`, the same operations over a whole epoch rounded once to float32: the same
bits on every CPU (tests/test_schedule.py holds them to the definition bit for bit). The optax engines
(reference, XLA) get `learning_rate`, the same formulas as an optax schedule computed in float32 by XLA
(held to the definition within float32's rounding).
"""

import math

import jax.numpy as jnp
import numpy as np
import optax

ADAM_B1, ADAM_B2, ADAM_EPS = 0.9, 0.999, 1e-8  # PyTorch's and optax's defaults


def epoch_factor(variant) -> float:
    """geometric_per_epoch's factor from one epoch to the next: lr during the first epoch, lr_end during the last."""
    return (variant.lr_end / variant.lr) ** (1.0 / max(variant.epochs - 1, 1))


def step_learning_rate(variant, n_train: int, step: int) -> float:
    """The learning rate of step `step` of the run, in float64: the definition."""
    if variant.lr_schedule == "linear":  # from lr at step 0 to lr_end at the run's end (optax.linear_schedule's formula)
        total = variant.epochs * n_train
        return (variant.lr - variant.lr_end) * (1.0 - min(step, total) / total) + variant.lr_end
    if variant.lr_schedule == "geometric_per_epoch":
        return variant.lr * math.pow(epoch_factor(variant), step // n_train)
    return variant.lr


def bias_corrections(variant, step: int) -> tuple[float, float]:
    """Adam's 1 - b1**t and 1 - b2**t at step `step` (t = step + 1), in float64; 1 and 1 for the other optimizers."""
    if variant.optimizer != "adamw":
        return 1.0, 1.0
    return 1.0 - math.pow(ADAM_B1, step + 1), 1.0 - math.pow(ADAM_B2, step + 1)


def learning_rate(variant, n_train: int) -> optax.ScalarOrSchedule:
    """step_learning_rate over the whole run for the optax engines: a float, or an optax schedule of
    the step count (computed in float32)."""
    total = variant.epochs * n_train
    if variant.lr_schedule == "linear":
        return optax.linear_schedule(variant.lr, variant.lr_end, total)
    if variant.lr_schedule == "geometric_per_epoch":
        factor = epoch_factor(variant)
        return lambda count: variant.lr * jnp.float32(factor) ** (count // n_train)
    return variant.lr


def step_scalars(variant, n_train: int, epoch: int, n: int) -> np.ndarray:
    """(n, 3) float32: for each step of the epoch step_learning_rate, then bias_corrections, computed in
    float64 and rounded once. The native engine's fast path: the linear schedule with numpy's float64
    arithmetic over the whole epoch (each operation rounded as Python's), the others once per epoch,
    and math.pow once per power."""
    first = epoch * n_train
    steps = np.arange(first, first + n, dtype=np.int64)
    out = np.ones((n, 3), np.float64)
    if variant.lr_schedule == "linear":
        total = variant.epochs * n_train
        out[:, 0] = (variant.lr - variant.lr_end) * (1.0 - np.minimum(steps, total) / total) + variant.lr_end
    else:  # the same rate for every step of an epoch
        epochs, where = np.unique(steps // n_train, return_inverse=True)
        out[:, 0] = np.array([step_learning_rate(variant, n_train, int(e) * n_train) for e in epochs], np.float64)[where]
    if variant.optimizer == "adamw":
        for column, b in ((1, ADAM_B1), (2, ADAM_B2)):
            out[:, column] = 1.0 - np.fromiter((math.pow(b, t) for t in range(first + 1, first + n + 1)), np.float64, n)
    return out.astype(np.float32)
