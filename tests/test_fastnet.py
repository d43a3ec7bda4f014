"""The XLA engine (fastnet) against the reference engine (the readable Flax model): same parameters
after 100 steps. tests/test_native.py holds the same checks for the native engine."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import make_runs, max_diff, train
from helpers import variant as params_variant
from reference_engine import ReferenceEngine

from lecun1989.evaluation.predict import Predictor
from lecun1989.network import fastnet, model
from lecun1989.training.engine import Engine
from lecun1989.training.engines import make_engine
from lecun1989.training.native import library

VARIANTS = ["lecun1989", "change1_softmax", "change2_adamw", "change3_shift", "change4_relu_dropout", "lecun1989_paper"]
N = 100
XLA = {"engine": "xla", "mode": "threads"}  # one program per run (on an accelerator too: vmapped runs are test_vectorized's)


def digits(n=N, seed=0):
    """Stroke-like synthetic digits in [-1, 1] with labels that depend on them, so training moves."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, n).astype(np.int32)
    x = -np.ones((n, 16, 16), np.float32)
    for i, label in enumerate(y):
        x[i, 2 + label : 5 + label, 3:13] = 1.0
        x[i] += rng.normal(0, 0.2, (16, 16))
    return jnp.asarray(np.clip(x, -1, 1)), jnp.asarray(y)


def variant(name, **changes):
    return params_variant(name, **{"n_seeds": 1, **changes})


@pytest.mark.parametrize("name", VARIANTS)
def test_fast_engine_matches_flax_model_after_100_steps(name):
    X, Y = digits()
    v = variant(name)
    fast, ref = make_runs(v, N, **XLA), make_runs(v, N, engine=ReferenceEngine(v, N))
    assert fast.engine.name == "xla" and ref.engine.name == "reference"
    s_fast, s_ref = fast.init(), ref.init()
    assert max_diff(fast.params(s_fast), ref.params(s_ref)) == 0.0
    s_fast, s_ref = fast.train_epoch(s_fast, 0, X, Y), ref.train_epoch(s_ref, 0, X, Y)
    assert max_diff(fast.params(s_fast), ref.params(s_ref)) < 1e-5
    assert max_diff(fast.params(s_fast), fast.params(fast.init())) > 1e-3  # it trained


def test_chunked_evaluation_matches_flax_model():
    """The XLA engine's outputs, chunked, and the evaluate stage's on the XLA engine, against the Flax model's."""
    X, _ = digits(300)  # more than one chunk, and a remainder
    v = variant("lecun1989", n_seeds=2)
    fast, ref = make_runs(v, N, **XLA), make_runs(v, N, engine=ReferenceEngine(v, N))
    theirs = ref.predict(ref.init(), X)
    assert theirs.shape == (2, 300, 10) and float(np.abs(theirs[0] - theirs[1]).max()) > 1e-3
    np.testing.assert_allclose(fast.predict(fast.init(), X), theirs, atol=1e-5)
    predictor = Predictor(v, "xla")
    assert predictor.engine == "xla"
    np.testing.assert_allclose(predictor.outputs(ref.params(ref.init()), X), theirs, atol=1e-5)


@pytest.mark.parametrize("name", ["lecun1989", "change4_relu_dropout"])
def test_seeds_trained_together_train_like_one_seed_alone(name):
    X, Y = digits(40)
    together = make_runs(variant(name, n_seeds=3), 40, **XLA)
    alone = make_runs(variant(name, n_seeds=1, seed=1), 40, **XLA)
    assert together.seeds == [0, 1, 2] and alone.seeds == [1]
    s3, s1 = train(together, X, Y, 2), train(alone, X, Y, 2)
    assert max_diff(jax.tree.map(lambda a: a[1:2], together.params(s3)), alone.params(s1)) == 0.0


def test_same_seed_same_bits():
    X, Y = digits(40)
    runs = []
    for _ in range(2):
        r = make_runs(variant("change4_relu_dropout", n_seeds=1), 40, **XLA)
        runs.append(r.params(r.train_epoch(r.init(), 0, X, Y)))
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


def test_every_engine_has_the_engine_interface():
    v = variant("lecun1989")
    made = [make_engine("xla", v, N), ReferenceEngine(v, N)]
    if not library.problem(v):
        made.append(make_engine("native", v, N))
    assert all(isinstance(e, Engine) for e in made), [type(e) for e in made if not isinstance(e, Engine)]
