"""The fast XLA engine (fastnet) against the readable Flax model: same parameters after 100 steps.
tests/test_native.py holds the same checks for the native engine."""

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lecun1989.network import fastnet, model
from lecun1989.pipeline.params import load_variant
from lecun1989.training.engine import Trainer

PARAMS = Path(__file__).resolve().parents[1] / "params.yaml"
VARIANTS = ["lecun1989", "change1_softmax", "change2_adamw", "change3_shift", "change4_relu_dropout", "lecun1989_paper"]
N = 100


@pytest.fixture(autouse=True)
def xla_engine(monkeypatch):
    """The XLA engine, one program per seed (on an accelerator too: vmapped runs are test_vectorized's)."""
    monkeypatch.setenv("LECUN1989_ENGINE", "xla")
    monkeypatch.setenv("LECUN1989_RUNS", "threads")


def digits(n=N, seed=0):
    """Stroke-like synthetic digits in [-1, 1] with labels that depend on them, so training moves."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, n).astype(np.int32)
    x = -np.ones((n, 16, 16), np.float32)
    for i, label in enumerate(y):
        x[i, 2 + label : 5 + label, 3:13] = 1.0
        x[i] += rng.normal(0, 0.2, (16, 16))
    return jnp.asarray(np.clip(x, -1, 1)), jnp.asarray(y)


def variant(name, **update):
    return load_variant(name, PARAMS).model_copy(update={"n_seeds": 1, **update})


def max_diff(a, b):
    return max(jax.tree.leaves(jax.tree.map(lambda u, v: float(np.abs(np.asarray(u) - np.asarray(v)).max()), a, b)))


@pytest.mark.parametrize("name", VARIANTS)
def test_fast_engine_matches_flax_model_after_100_steps(name):
    X, Y = digits()
    v = variant(name)
    fast, ref = Trainer(v, N), Trainer(v, N, reference=True)
    s_fast, s_ref = fast.init(), ref.init()
    assert max_diff(s_fast.params, s_ref.params) == 0.0
    s_fast, s_ref = fast.train_epoch(s_fast, 0, X, Y), ref.train_epoch(s_ref, 0, X, Y)
    assert max_diff(s_fast.params, s_ref.params) < 1e-5
    assert max_diff(s_fast.params, fast.init().params) > 1e-3  # it trained


def test_chunked_evaluation_matches_flax_model():
    X, _ = digits(300)  # more than one chunk, and a remainder
    v = variant("lecun1989", n_seeds=2)
    fast, ref = Trainer(v, N), Trainer(v, N, reference=True)
    params = fast.init().params
    np.testing.assert_allclose(fast.predict(params, X), ref.predict(params, X), atol=1e-5)


@pytest.mark.parametrize("name", ["lecun1989", "change4_relu_dropout"])
def test_seeds_trained_together_train_like_one_seed_alone(name):
    X, Y = digits(40)
    together = Trainer(variant(name, n_seeds=3), 40)
    alone = Trainer(variant(name, n_seeds=1, seed=1), 40)
    s3, s1 = together.init(), alone.init()
    for epoch in range(2):
        s3, s1 = together.train_epoch(s3, epoch, X, Y), alone.train_epoch(s1, epoch, X, Y)
    assert max_diff(jax.tree.map(lambda a: a[1:2], s3.params), s1.params) == 0.0


def test_same_seed_same_bits():
    X, Y = digits(40)
    runs = []
    for _ in range(2):
        t = Trainer(variant("change4_relu_dropout", n_seeds=1), 40)
        runs.append(t.train_epoch(t.init(), 0, X, Y).params)
    assert max_diff(*runs) == 0.0


def test_layout_round_trip_and_h2_mask():
    p = model.Net1989().init(jax.random.PRNGKey(0), jnp.zeros((1, 16, 16)))["params"]
    f = fastnet.to_fast(p)
    assert max_diff(fastnet.to_flax(f), p) == 0.0
    assert float(jnp.abs(f["w2"] * (1 - fastnet.H2_MASK)).max()) == 0.0


def test_h2_gradient_matches_autodiff():
    """h2_conv's own gradient (gather-sum, reordered matmuls, mask) against autodiff's scatter-add."""
    h1 = jax.random.normal(jax.random.PRNGKey(0), (12, 64))
    w2 = jax.random.normal(jax.random.PRNGKey(1), (12, 300)) * fastnet.H2_MASK
    g = jax.random.normal(jax.random.PRNGKey(2), (12, 16))
    ours = jax.vjp(fastnet.h2_conv, h1, w2)[1](g)
    plain = jax.vjp(lambda h, w: (w * fastnet.H2_MASK) @ fastnet.padded(h, model.PAD_VALUE)[fastnet.H2_TABLE], h1, w2)[1](g)
    for a, b in zip(ours, plain):
        np.testing.assert_allclose(a, b, atol=1e-4)
