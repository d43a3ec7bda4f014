"""The training losses, per digit: (n, 10) outputs and integer labels -> (n,) losses."""

import jax
import jax.numpy as jnp
import optax


def mse_to_pm1(outputs, labels):
    """The 1989 loss: mean squared error against +1 for the true class, -1 for the others."""
    targets = 2.0 * jax.nn.one_hot(labels, 10) - 1.0
    return jnp.mean((outputs - targets) ** 2, axis=-1)


def softmax_xent(logits, labels):
    return optax.softmax_cross_entropy_with_integer_labels(logits, labels)


LOSSES = {"mse": mse_to_pm1, "softmax_xent": softmax_xent}
