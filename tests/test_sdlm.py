"""The paper's optimizer: SDLM's step (network/hessian.py's second-derivative estimate, training/sdlm.py)
against the exact Gauss-Newton diagonal from jax.jacobian and against hand computations."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import tiny_data, variant
from jax.flatten_util import ravel_pytree

from lecun1989.network import hessian, model
from lecun1989.training import schedule
from lecun1989.training.losses import mse_to_pm1
from lecun1989.training.sdlm import sdlm

ACT = "scaled_tanh"
SINGLE_PATH_LAYERS = ("H3", "H3_bias", "out", "out_bias")  # each weight reaches each output by one path


def network(init="uniform_2.4_sqrt_fan_in", seed=0):
    net = model.Net1989(activation=ACT, head=ACT, weight_init=init)
    params = net.init(jax.random.PRNGKey(seed), jnp.zeros((1, 16, 16)))["params"]
    rng = np.random.default_rng(seed)  # non-zero biases, so every term of the estimate matters
    params = {k: v if isinstance(v, dict) else jnp.asarray(rng.uniform(-0.3, 0.3, v.shape), jnp.float32) for k, v in params.items()}
    x, _ = tiny_data(6, seed)
    x[1] = rng.uniform(-1, 1, (16, 16))  # ink up to the border: the padding matters
    return net, params, jnp.asarray(x)


def exact_gauss_newton_diagonal(net, params, X):
    """diag(J^T H J) averaged over X, J = d outputs / d params (jax.jacobian), H = the mse loss's own
    Hessian with respect to the outputs (jax.hessian): no approximation beyond dropping f''."""
    flat, unravel = ravel_pytree(params)

    def one(x):
        outputs = net.apply({"params": unravel(flat)}, x[None])[0]
        J = jax.jacobian(lambda w: net.apply({"params": unravel(w)}, x[None])[0])(flat)  # (10, n_params)
        H = jax.hessian(lambda o: mse_to_pm1(o[None], jnp.array([3]))[0])(outputs)  # (10, 10), labels irrelevant
        return jnp.einsum("ok,op,pk->k", J, H, J)

    return unravel(jax.vmap(one)(X).mean(0))


def layer_arrays(tree, key):
    return jnp.concatenate([a.ravel() for a in jax.tree.leaves(tree[key])])


def test_the_estimates_forward_pass_is_the_flax_model():
    net, params, X = network()
    _, _, outputs = hessian.forward(params, X, ACT, ACT)
    np.testing.assert_allclose(outputs, net.apply({"params": params}, X), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("init", ["uniform_2.4_fan_in", "uniform_2.4_sqrt_fan_in"])
def test_estimate_equals_exact_gauss_newton_where_no_two_paths_share_a_unit(init):
    """The output layer and H3 (weights and biases): each weight reaches each output through one
    unit, so the layer-by-layer estimate is the exact diagonal. Elsewhere it only has to be >= 0."""
    net, params, X = network(init)
    ours, exact = hessian.gauss_newton_diagonal(params, X, ACT, ACT), exact_gauss_newton_diagonal(net, params, X)
    assert jax.tree.structure(ours) == jax.tree.structure(params)
    for key in SINGLE_PATH_LAYERS:
        np.testing.assert_allclose(layer_arrays(ours, key), layer_arrays(exact, key), rtol=1e-4, atol=1e-9)
    for key in params:
        assert float(layer_arrays(ours, key).min()) >= 0.0, key
        assert float(layer_arrays(ours, key).max()) > 0.0, key
    # and it is an estimate, not the exact diagonal, where units are shared (the ratio is in the README)
    assert not np.allclose(layer_arrays(ours, "H2_bias"), layer_arrays(exact, "H2_bias"), rtol=1e-2)


def test_estimate_is_exact_through_every_layer_along_a_single_path():
    """Zero every weight but one chain (output 0 <- H3 unit 0 <- one H2 unit at the border): then
    every H1 unit, H2 weight and bias reaches the output by one path, and the estimate there must be
    exact too (padding, the H2 connection table and each f'^2 included). Only H1's kernel, shared by
    64 positions of which several feed that H2 unit, keeps dropped cross terms."""
    net, params, X = network()
    h2_unit = (0 * 4 + 0) * 12 + 5  # H2 map 5 at position (0, 0), in Flax's (y, x, map) flattening
    params["out"]["kernel"] = jnp.zeros((30, 10)).at[0, 0].set(1.3)
    params["H3"]["kernel"] = params["H3"]["kernel"].at[:, 0].set(jnp.zeros(192).at[h2_unit].set(0.9))
    ours, exact = hessian.gauss_newton_diagonal(params, X, ACT, ACT), exact_gauss_newton_diagonal(net, params, X)
    for key in ("H1_bias", "H2_0", "H2_1", "H2_2", "H2_bias", *SINGLE_PATH_LAYERS):
        np.testing.assert_allclose(layer_arrays(ours, key), layer_arrays(exact, key), rtol=1e-4, atol=1e-9, err_msg=key)
    assert float(layer_arrays(ours, "H2_1").max()) > 0 and float(layer_arrays(ours, "H1_bias").max()) > 0  # map 5 is in group 1
    assert not np.allclose(layer_arrays(ours, "H1"), layer_arrays(exact, "H1"), rtol=1e-2)


def test_one_sdlm_step_by_hand():
    """Each weight steps by lr / (mu + h) times its gradient: 0.01 / (0.02 + 0.08) * 0.5 = 0.05 and
    0.01 / (0.02 + 0) * 0.25 = 0.125."""
    tx = sdlm(0.01, mu=0.02)
    params = {"w": jnp.array([1.0, -2.0])}
    grads, h = {"w": jnp.array([0.5, 0.25])}, {"w": jnp.array([0.08, 0.0])}
    updates, state = tx.update(grads, tx.init(params), params, hessian=h)
    np.testing.assert_allclose(optax.apply_updates(params, updates)["w"], [0.95, -2.125], rtol=1e-6)
    assert int(state.count) == 1
    with pytest.raises(TypeError):  # no silent fallback to plain SGD when h is not given
        tx.update(grads, state, params)


def test_lr_falls_geometrically_epoch_by_epoch():
    """3 epochs of 2 steps from 1e-3 to 1e-4: 1e-3, 1e-3, 10^-3.5 twice, then 1e-4 twice, as optax's
    schedule in SDLM's steps and as the native engine's per-step scalars."""
    v = variant("lecun1989_paper", lr=1e-3, lr_end=1e-4, epochs=3)
    assert v.lr_schedule == "geometric_per_epoch"
    want = [1e-3, 1e-3, 10**-3.5, 10**-3.5, 1e-4, 1e-4]
    tx = sdlm(schedule.learning_rate(v, n_train=2), mu=1.0)
    params = {"w": jnp.zeros(1)}
    state, steps = tx.init(params), []
    for _ in range(6):
        updates, state = tx.update({"w": jnp.ones(1)}, state, params, hessian={"w": jnp.zeros(1)})
        steps.append(-float(updates["w"][0]))
    np.testing.assert_allclose(steps, want, rtol=1e-5)
    scalars = np.concatenate([schedule.step_scalars(v, 2, epoch, 2) for epoch in range(3)])
    np.testing.assert_allclose(scalars[:, 0], want, rtol=1e-5)
    np.testing.assert_array_equal(scalars[:, 1:], 1.0)  # no bias corrections: they are Adam's


def test_fast_layout_of_the_estimate():
    """to_fast moves h like the weights: the round trip is exact and H2's unconnected weights get 0."""
    from lecun1989.network import fastnet

    _, params, X = network()
    h = hessian.gauss_newton_diagonal(params, X, ACT, ACT)
    f = fastnet.to_fast(h)
    assert float(jnp.abs(f["w2"] * (1 - fastnet.H2_MASK)).max()) == 0.0
    assert float(jnp.abs(f["w2"] * fastnet.H2_MASK).min(where=fastnet.H2_MASK > 0, initial=1.0)) > 0.0
    assert max(float(jnp.abs(a - b).max()) for a, b in zip(jax.tree.leaves(fastnet.to_flax(f)), jax.tree.leaves(h))) == 0.0
