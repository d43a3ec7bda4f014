"""The losses, per digit: (n, 10) outputs and integer labels -> (n,) losses. Their one definition:
training differentiates these, and the other places that compute a loss are fast paths held to them
(tests/test_losses.py): evaluation/scoring.py's digit_losses (numpy float64, the scores written into
the curves and metrics), network/hessian.py's MSE_CURVATURE (mse's second derivative with respect to
an output) and the native engine's output_gradient (training/native/epoch.h: the gradient of each)."""

import jax
import jax.numpy as jnp
import optax


def mse_to_pm1(outputs, labels):
    """The 1989 loss: mean squared error against +1 for the true class, -1 for the others."""
    targets = 2.0 * jax.nn.one_hot(labels, 10) - 1.0
    return jnp.mean((outputs - targets) ** 2, axis=-1)


def softmax_xent(logits, labels):
    """Softmax cross-entropy: log-sum-exp of the outputs minus the true class's output."""
    return optax.softmax_cross_entropy_with_integer_labels(logits, labels)


LOSSES = {"mse": mse_to_pm1, "softmax_xent": softmax_xent}
