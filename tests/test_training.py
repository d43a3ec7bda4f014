"""One training step of the 1989 recipe against hand-derived gradients, and the scoring helpers."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import reference
from helpers import make_runs, seed_slice, tiny_data, variant

from lecun1989.evaluation import scoring
from lecun1989.network import model

# ----------------------------------------------------------------------------------------------
# One SGD step of the 1989 recipe


def flat(tree):
    return {
        "/".join(str(getattr(k, "key", k)) for k in path): np.asarray(leaf, np.float64)
        for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]
    }


def unflat(like, flat_values):
    paths = [("/".join(str(getattr(k, "key", k)) for k in path)) for path, _ in jax.tree_util.tree_flatten_with_path(like)[0]]
    return jax.tree_util.tree_unflatten(jax.tree.structure(like), [flat_values[p] for p in paths])


@pytest.fixture(scope="module")
def one_sgd_step():
    """The lecun1989 variant trained for 1 epoch on a 1-digit training set: exactly one update (by
    the engine a stage trains with by default)."""
    v = variant("lecun1989", epochs=1, n_seeds=1, seed=3)
    x, y = tiny_data(1, seed=21)
    runs = make_runs(v, 1)
    state = runs.init()
    before = seed_slice(runs.params(state), 0)
    after = seed_slice(runs.params(runs.train_epoch(state, 0, jnp.asarray(x), jnp.asarray(y))), 0)
    return v, x, y, before, after


def loss64(params, x, y):
    return float(reference.mse_pm1(reference.forward(params, x), y).mean())


def test_sgd_step_is_params_minus_lr_times_jax_grad(one_sgd_step):
    v, x, y, before, after = one_sgd_step
    net = model.build(v)

    def loss(p):  # the 1989 loss: mean over the 10 outputs of (out - (+1/-1))^2
        return loss32("mse", net.apply({"params": p}, jnp.asarray(x)), jnp.asarray(y))

    grad = flat(jax.grad(loss)(jax.tree.map(lambda a: jnp.asarray(a, jnp.float32), before)))
    step = {k: (b - a) / v.lr for (k, b), a in zip(flat(before).items(), flat(after).values())}
    for k in grad:
        assert np.abs(grad[k]).max() > 1e-6, f"{k}: no gradient reaches this layer"
        # float32 parameters: (before - after) carries ~1e-8 absolute rounding, /lr -> ~1e-6
        np.testing.assert_allclose(step[k], grad[k], rtol=1e-3, atol=3e-6, err_msg=k)


def test_sgd_step_matches_float64_finite_differences(one_sgd_step):
    """Central differences of the independent float64 network: the training step is -lr * dL/dp
    for the 1989 loss, on a sample of parameters from every layer (the largest gradients and
    random ones)."""
    v, x, y, before, after = one_sgd_step
    rng = np.random.default_rng(22)
    flat_before, flat_after = flat(before), flat(after)
    eps = 1e-5
    checked = 0
    for name, value in flat_before.items():
        step = ((value - flat_after[name]) / v.lr).ravel()
        picks = set(np.argsort(-np.abs(step))[:4].tolist()) | set(rng.choice(value.size, 4, replace=False).tolist())
        for i in sorted(picks):
            grads = []
            for sign in (+1, -1):
                moved = {k: a.copy() for k, a in flat_before.items()}
                moved[name].reshape(-1)[i] += sign * eps
                grads.append(loss64(unflat(before, moved), x, y))
            fd = (grads[0] - grads[1]) / (2 * eps)
            assert abs(step[i] - fd) <= 3e-6 + 1e-3 * abs(fd), f"{name}[{i}]: step/lr {step[i]}, finite difference {fd}"
            checked += 1
    assert checked >= 60


def test_finite_differences_check_jax_grad_of_the_flax_model():
    """jax.grad of the Flax model itself against float64 central differences of the reference, for
    each variant's network (tanh/MSE and ReLU/softmax cross-entropy), on random parameters."""
    x, y = tiny_data(2, seed=23)
    for name in ("lecun1989", "change4_relu_dropout"):
        v = variant(name)
        net = model.build(v)
        params = net.init(jax.random.PRNGKey(4), jnp.zeros((1, 16, 16)))["params"]
        grad = flat(jax.grad(lambda p: loss32(v.loss, net.apply({"params": p}, jnp.asarray(x)), jnp.asarray(y)))(params))

        def loss64_v(p):
            out = reference.forward(p, x, v.activation, v.head)
            if v.loss == "mse":
                return reference.mse_pm1(out, y).mean()
            z = out - out.max(axis=1, keepdims=True)
            return (np.log(np.exp(z).sum(1)) - z[np.arange(len(y)), y]).mean()

        flat_p = flat(params)
        rng = np.random.default_rng(24)
        for k, value in flat_p.items():
            for i in rng.choice(value.size, 3, replace=False):
                vals = []
                for sign in (+1, -1):
                    moved = {kk: a.copy() for kk, a in flat_p.items()}
                    moved[k].reshape(-1)[i] += sign * 1e-5
                    vals.append(loss64_v(unflat(params, moved)))
                fd = (vals[0] - vals[1]) / 2e-5
                g = grad[k].reshape(-1)[i]
                assert abs(g - fd) <= 2e-5 + 1e-3 * abs(fd), f"{name} {k}[{i}]: jax {g}, finite difference {fd}"


def loss32(kind, outputs, labels):
    """The two losses of params.yaml, written out in jax (mean over the digits)."""
    if kind == "mse":
        targets = jnp.where(jnp.arange(10) == labels[:, None], 1.0, -1.0)
        return jnp.mean((outputs - targets) ** 2)
    return jnp.mean(jax.nn.logsumexp(outputs, axis=1) - outputs[jnp.arange(len(labels)), labels])


# ----------------------------------------------------------------------------------------------
# scoring


def test_misses_exact_counts():
    labels = np.array([0, 1, 2, 3])
    outputs = np.full((4, 10), -1.0)
    outputs[0, 0] = 1  # right
    outputs[1, 7] = 1  # wrong
    outputs[2, 2] = 0.1  # right, barely
    outputs[3, 4] = -0.5  # wrong (its label's output is -1)
    assert scoring.misses(outputs, labels) == 2
    assert scoring.misses(outputs, labels).dtype == np.int64
    # per seed: (n_seeds, n, 10) -> (n_seeds,)
    stacked = np.stack([outputs, np.eye(10)[[0, 1, 2, 3]], np.eye(10)[[9, 9, 9, 9]]])
    np.testing.assert_array_equal(scoring.misses(stacked, labels), [2, 0, 4])


def test_misses_counts_are_not_truncated_from_rates():
    """The anchors' defect: int(err * n) loses one. 7 misses in 2007 must stay 7."""
    n = 2007
    labels = np.zeros(n, int)
    outputs = np.zeros((n, 10))
    outputs[:, 0] = 1
    for k in range(1, 200):
        outputs[:k, 0] = 0
        outputs[:k, 1] = 1
        missed = scoring.misses(outputs, labels)
        assert missed == k
        assert round(float(scoring.error_pct(missed, n)) * n / 100) == k
        outputs[:k, 0] = 1
        outputs[:k, 1] = 0


def test_error_pct():
    assert scoring.error_pct(0, 2007) == 0
    assert scoring.error_pct(2007, 2007) == 100
    np.testing.assert_allclose(scoring.error_pct(np.array([74, 102]), 2007), [3.687095, 5.082212], rtol=1e-6)
    np.testing.assert_allclose(scoring.error_pct(10, 7291), 0.137155, rtol=1e-5)


def test_spread():
    assert scoring.spread([3.5]) == {"mean": 3.5, "std": 0.0, "min": 3.5, "max": 3.5}
    s = scoring.spread(np.array([1.0, 2.0, 4.0]))
    assert s["mean"] == pytest.approx(7 / 3) and s["min"] == 1.0 and s["max"] == 4.0
    assert s["std"] == pytest.approx(np.sqrt(((1 - 7 / 3) ** 2 + (2 - 7 / 3) ** 2 + (4 - 7 / 3) ** 2) / 2))  # sample std
    assert all(type(v) is float for v in s.values())  # JSON-serialisable plain floats
    assert scoring.spread(np.float32([2, 2]))["std"] == 0.0
