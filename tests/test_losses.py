"""The losses of training/losses.py are their definition: evaluation/scoring.py's numpy float64
path (the scores written into the curves) within float32's rounding of it, and network/hessian.py's
MSE_CURVATURE as jax.hessian of the per-digit mse."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lecun1989.evaluation import scoring
from lecun1989.network.hessian import MSE_CURVATURE
from lecun1989.training.losses import LOSSES, mse_to_pm1


def outputs_and_labels(loss: str, n: int = 500, seed: int = 0):
    """Float32 outputs as the network gives them: in (-1.7159, 1.7159) for mse (a scaled tanh head),
    logits of a few units for softmax cross-entropy; (2, n, 10), as score takes two runs."""
    rng = np.random.default_rng(seed)
    scale = 1.7159 if loss == "mse" else 8.0
    outputs = rng.uniform(-scale, scale, (2, n, 10)).astype(np.float32)
    return outputs, rng.integers(0, 10, (2, n))


@pytest.mark.parametrize("loss", sorted(LOSSES))
def test_scorings_losses_are_the_training_losses(loss):
    outputs, labels = outputs_and_labels(loss)
    want = np.asarray(LOSSES[loss](jnp.asarray(outputs), jnp.asarray(labels)), np.float64)
    got = scoring.digit_losses(outputs, labels, loss)
    assert got.dtype == np.float64 and got.shape == labels.shape
    np.testing.assert_allclose(got, want, rtol=2e-6, atol=2e-6)
    np.testing.assert_allclose(scoring.score(outputs, labels, loss)["loss"], want.mean(axis=-1), rtol=2e-6)


def test_mse_is_zero_on_its_targets_and_four_tenths_per_wrong_sign():
    labels = np.array([3, 7])
    targets = np.where(np.arange(10) == labels[:, None], 1.0, -1.0).astype(np.float32)
    np.testing.assert_array_equal(scoring.digit_losses(targets, labels, "mse"), [0.0, 0.0])
    np.testing.assert_array_equal(mse_to_pm1(jnp.asarray(targets), jnp.asarray(labels)), [0.0, 0.0])
    flipped = targets.copy()
    flipped[0, 3] = -1.0  # (−1 − 1)^2 / 10
    assert scoring.digit_losses(flipped, labels, "mse")[0] == pytest.approx(0.4)
    assert float(mse_to_pm1(jnp.asarray(flipped), jnp.asarray(labels))[0]) == pytest.approx(0.4)


def test_mse_curvature_is_the_mse_losss_second_derivative():
    """The Hessian of one digit's mse with respect to its 10 outputs: MSE_CURVATURE on the diagonal,
    whatever the outputs and label, 0 elsewhere."""
    for label in (0, 3, 9):
        outputs = jnp.asarray(np.random.default_rng(label).uniform(-1.7, 1.7, 10), jnp.float32)
        H = jax.hessian(lambda o: mse_to_pm1(o[None], jnp.array([label]))[0])(outputs)
        np.testing.assert_allclose(np.diag(H), np.full(10, MSE_CURVATURE), rtol=1e-6)
        np.testing.assert_array_equal(H - np.diag(np.diag(H)), np.zeros((10, 10)))
