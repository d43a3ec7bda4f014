"""hessian_fixed: the SDLM curvature estimate in a fixed order of float64 operations, against the
readable XLA version (hessian.py) it stands in for."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import tiny_data

from lecun1989.network import hessian, hessian_fixed, model


def network(activation, head, n=12, seed=0):
    params = model.Net1989(activation=activation, head=head).init(jax.random.PRNGKey(seed), jnp.zeros((1, 16, 16)))["params"]
    rng = np.random.default_rng(seed)  # non-zero biases, so every term matters
    params = {k: v if isinstance(v, dict) else jnp.asarray(rng.uniform(-0.3, 0.3, v.shape), jnp.float32) for k, v in params.items()}
    x, _ = tiny_data(n, seed)
    x[1] = rng.uniform(-1, 1, (16, 16))  # ink up to the border: the padding matters
    return params, jnp.asarray(x)


@pytest.mark.parametrize("activation, head", [("scaled_tanh", "scaled_tanh"), ("tanh", "tanh"), ("relu", "linear")])
def test_fixed_order_estimate_is_hessian_py(activation, head):
    params, X = network(activation, head)
    ours, theirs = (
        hessian_fixed.gauss_newton_diagonal(params, X, activation, head),
        hessian.gauss_newton_diagonal(params, X, activation, head),
    )
    assert jax.tree.structure(ours) == jax.tree.structure(theirs)
    for path, a in jax.tree_util.tree_leaves_with_path(ours):
        b = np.asarray(theirs[path[0].key]["kernel"] if len(path) > 1 else theirs[path[0].key])
        assert a.dtype == jnp.float32 and a.shape == b.shape, path
        np.testing.assert_allclose(np.asarray(a), b, rtol=2e-5, atol=1e-7 * float(np.abs(b).max()), err_msg=str(path))
        assert float(np.abs(b).max()) > 0, path


def test_same_bits_under_jit_and_from_the_digits_alone():
    params, X = network("scaled_tanh", "scaled_tanh")
    eager = hessian_fixed.gauss_newton_diagonal(params, X, "scaled_tanh", "scaled_tanh")
    jitted = jax.jit(lambda p, x: hessian_fixed.gauss_newton_diagonal(p, x, "scaled_tanh", "scaled_tanh"))(params, X)
    assert all(np.asarray(a).tobytes() == np.asarray(b).tobytes() for a, b in zip(jax.tree.leaves(eager), jax.tree.leaves(jitted)))


def test_written_out_tanh_and_tree_sum():
    a = np.linspace(-40, 40, 100001)
    np.testing.assert_allclose(hessian_fixed.tanh(a), np.tanh(a), rtol=0, atol=4e-16)
    x = np.random.default_rng(0).uniform(-1, 1, (37, 3))
    np.testing.assert_allclose(hessian_fixed.tree_sum(x), x.sum(0), rtol=0, atol=1e-14)
    # (1 + 1e-16) + (1e-16 - 1) = 1 - (1 - 2^-53): its own order (in sequence, 1 + 1e-16 + 1e-16 - 1 = 0)
    assert hessian_fixed.tree_sum(np.array([1.0, 1e-16, 1e-16, -1.0])) == 2.0**-53


def pairwise(rows: list) -> float:
    """tree_sum's tree written as a recursion: row i plus row i + half, an odd length's last row carried."""
    if len(rows) == 1:
        return rows[0]
    half = len(rows) // 2
    return pairwise([rows[i] + rows[i + half] for i in range(half)] + rows[2 * half :])


@pytest.mark.parametrize("n", [1, 2, 3, 5, 7, 8, 125, 1001])
def test_tree_sum_is_its_tree_and_leaves_its_input(n):
    x = np.random.default_rng(n).standard_normal((n, 2)) * 10.0 ** np.random.default_rng(n + 1).integers(-8, 8, (n, 1))
    kept = x.copy()
    want = np.array([pairwise(list(x[:, c])) for c in range(2)])
    assert hessian_fixed.tree_sum(x).tobytes() == want.tobytes()
    assert x.tobytes() == kept.tobytes()
