"""SDLM's curvature estimate from the native library (curvature.h) is hessian_fixed's as training
calls it (inside a jitted function), bit for bit: for every activation and head, on several parameter
sets (saturating ones too) and digit counts, powers of two or not, and where estimates fall below
float32's normal range; and the native engine's runs use it."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import tiny_data, variant

from lecun1989.network import hessian_fixed, model
from lecun1989.training.native import codes, curvature, library

pytestmark = pytest.mark.skipif(bool(library.problem(variant("lecun1989"))), reason="native engine not available here")


def parameters(activation: str, head: str, seed: int, scale: float) -> dict:
    """The model's initialisation with non-zero biases, every parameter times scale (3: many units saturate)."""
    net = model.Net1989(activation=activation, head=head)
    params = net.init(jax.random.PRNGKey(seed), jnp.zeros((1, 16, 16)))["params"]
    rng = np.random.default_rng(seed)
    params = {k: v if isinstance(v, dict) else jnp.asarray(rng.uniform(-0.3, 0.3, v.shape), jnp.float32) for k, v in params.items()}
    return jax.tree.map(lambda a: a * scale, params)


def digits(n: int, seed: int):
    x, _ = tiny_data(n, seed)
    x[: (n + 1) // 2] = np.random.default_rng(seed).uniform(-1, 1, (16, 16))  # ink up to the border: the padding matters
    return jnp.asarray(x)


@pytest.mark.parametrize("activation", sorted(codes.ACTIVATIONS))
@pytest.mark.parametrize("head", sorted(codes.HEADS))
@pytest.mark.parametrize("n, seed, scale", [(500, 0, 1.0), (7, 1, 1.0), (1, 2, 1.0), (13, 3, 3.0)])
def test_native_estimate_is_hessian_fixed_bit_for_bit(activation, head, n, seed, scale):
    want = assert_same_bits(parameters(activation, head, seed, scale), digits(n, seed), activation, head)
    assert sum(float(np.asarray(a).max()) > 0 for a in jax.tree.leaves(want)) >= 8  # estimates, not zeros


def assert_same_bits(params, X, activation, head) -> dict:
    """Both estimates on (params, X), jitted as training calls them; hessian_fixed's."""
    want, got = (jax.jit(f.gauss_newton_diagonal, static_argnums=(2, 3))(params, X, activation, head) for f in (hessian_fixed, curvature))
    assert jax.tree.structure(got) == jax.tree.structure(want)
    for (path, a), b in zip(jax.tree_util.tree_leaves_with_path(want), jax.tree.leaves(got)):
        assert b.dtype == np.float32 and b.shape == a.shape, path
        assert np.asarray(b).tobytes() == np.asarray(a).tobytes(), (path, float(np.abs(np.asarray(a) - np.asarray(b)).max()))
    return want


def test_denormals_are_flushed_as_around_hessian_fixeds_callback():
    """H2's weights times 1e-18: H1's estimates fall below float32's normal range. XLA runs
    hessian_fixed's numpy callback with denormal numbers flushed to zero, and the library flushes them
    too (numpy alone, outside XLA, keeps them)."""
    params = parameters("tanh", "tanh", 0, 1.0)
    params = {k: {"kernel": v["kernel"] * 1e-18} if k.startswith("H2_") and k != "H2_bias" else v for k, v in params.items()}
    X = digits(7, 0)
    flushed = np.asarray(assert_same_bits(params, X, "tanh", "tanh")["H1_bias"])
    kept = hessian_fixed._diagonal(params, np.asarray(X), "tanh", "tanh")["H1_bias"]
    assert np.all(kept > 0) and np.any(kept < np.finfo(np.float32).tiny) and np.any(flushed == 0)


def test_the_native_engine_runs_use_it(monkeypatch):
    from lecun1989.training.runs import Trainer

    calls = []
    native = curvature.gauss_newton_diagonal
    monkeypatch.setattr(curvature, "gauss_newton_diagonal", lambda *a: calls.append(1) or native(*a))
    runs = Trainer(variant("lecun1989_paper"), 40, [0], engine="native")
    runs._curvature(runs.engine.params(runs.init()[0]), 0, jnp.asarray(tiny_data(40, 0)[0]))  # before each epoch
    assert calls and runs.engine.name == "native"
