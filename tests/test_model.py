"""The Flax reference model model.Net1989: size, shapes, wiring, padding and initialisation,
checked against the paper's description and an independent numpy forward pass (reference.py)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import reference
from helpers import n_params, tiny_data

from lecun1989.network import model

SHAPES = {
    "H1": {"kernel": (5, 5, 1, 12)},
    "H1_bias": (8, 8, 12),  # one bias per unit, not per map
    "H2_0": {"kernel": (5, 5, 8, 4)},
    "H2_1": {"kernel": (5, 5, 8, 4)},
    "H2_2": {"kernel": (5, 5, 8, 4)},
    "H2_bias": (4, 4, 12),
    "H3": {"kernel": (192, 30)},
    "H3_bias": (30,),
    "out": {"kernel": (30, 10)},
    "out_bias": (10,),
}
FAN_IN = {"H1": 25, "H2_0": 200, "H2_1": 200, "H2_2": 200, "H3": 192, "out": 30}


def init(net, seed=0):
    return net.init(jax.random.PRNGKey(seed), jnp.zeros((1, 16, 16), jnp.float32))["params"]


def randomised(params, seed=1, bias_scale=0.3):
    """The params with non-zero random biases too, so every term of the forward pass matters."""
    rng = np.random.default_rng(seed)
    out = jax.tree.map(np.asarray, params)
    out = {k: (v if isinstance(v, dict) else rng.uniform(-bias_scale, bias_scale, v.shape).astype(np.float32)) for k, v in out.items()}
    return out


@pytest.mark.parametrize("head", ["tanh", "linear"])
def test_parameter_count_and_shapes(head):
    net = model.Net1989(head=head)
    params = init(net)
    assert n_params(params) == 9760
    assert jax.tree.map(np.shape, params) == SHAPES
    x, _ = tiny_data(5)
    out = net.apply({"params": params}, x)
    assert out.shape == (5, 10) and out.dtype == jnp.float32
    assert net.apply({"params": params}, x[:1]).shape == (1, 10)
    if head == "tanh":
        assert np.all(np.abs(out) < 1)


def test_heads_share_parameters_and_differ_by_the_output_tanh():
    params = randomised(init(model.Net1989()))
    x, _ = tiny_data(4)
    squashed = model.Net1989(head="tanh").apply({"params": params}, x)
    logits = model.Net1989(head="linear").apply({"params": params}, x)
    np.testing.assert_allclose(squashed, np.tanh(logits), rtol=1e-6, atol=1e-6)
    assert np.abs(logits).max() > 1  # not everything in tanh's linear range


@pytest.mark.parametrize("activation,head", [("tanh", "tanh"), ("relu", "linear"), ("tanh", "linear"), ("scaled_tanh", "scaled_tanh")])
def test_forward_matches_independent_numpy_network(activation, head):
    net = model.Net1989(activation=activation, head=head)
    params = randomised(init(net, seed=3), seed=4)
    x, _ = tiny_data(6, seed=5)
    x[0] = -1.0  # all background
    x[1] = np.random.default_rng(6).uniform(-1, 1, (16, 16))  # ink up to the border
    got = np.asarray(net.apply({"params": params}, x), np.float64)
    want = reference.forward(params, x, activation, head)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=2e-5)
    # and the reference can tell: zero padding at either layer gives other outputs
    for pads in ((0.0, -1.0), (-1.0, 0.0)):
        other = reference.forward(params, x, activation, head, *pads)
        assert np.abs(other - want).max() > 1e-3, pads


def test_scaled_tanh_maps_plus_minus_one_to_itself():
    """LeCun's constants: f(+-1) = +-1 (to 1e-4), slope 1.1424 at 0, asymptotes +-1.7159."""
    f = model.ACTIVATIONS["scaled_tanh"]
    np.testing.assert_allclose(f(jnp.array([-1.0, 1.0])), [-1.0, 1.0], atol=1e-4)
    np.testing.assert_allclose(jax.grad(f)(0.0), 1.7159 * 2 / 3, rtol=1e-6)
    assert float(f(30.0)) == pytest.approx(1.7159)
    assert model.HEADS["scaled_tanh"] is f


def test_padding_is_minus_one():
    """An all -1 (background) digit padded with -1 is a constant plane: with zero H1 biases every
    H1 unit of one map sees the same inputs, so the H1 maps are spatially constant; zero padding
    would make the border units differ."""
    net = model.Net1989()
    params = jax.tree.map(np.asarray, init(net, seed=7))
    params["H1_bias"] = np.zeros_like(params["H1_bias"])
    x = -np.ones((1, 16, 16), np.float32)
    _, state = net.apply({"params": params}, x, capture_intermediates=True, mutable=["intermediates"])
    h1 = np.asarray(state["intermediates"]["H1"]["__call__"][0])[0]  # (8, 8, 12) before bias
    assert h1.shape == (8, 8, 12)
    np.testing.assert_allclose(h1, np.broadcast_to(h1[:1, :1], h1.shape), atol=1e-6)
    # the outputs for this input are those of -1 padding, and not those of 0 padding
    out = np.asarray(net.apply({"params": params}, x), np.float64)
    np.testing.assert_allclose(out, reference.forward(params, x), atol=2e-5)
    assert np.abs(out - reference.forward(params, x, pad_h1=0.0, pad_h2=0.0)).max() > 1e-3


@pytest.mark.parametrize("group", [0, 1, 2])
def test_h2_group_reads_only_its_eight_h1_maps(group):
    """Silence the other two H2 groups (zero kernels: their units become constants); then the output
    depends on an H1 map's weights and biases if and only if that map is in the group's table."""
    expected = set(reference.H2_TABLE[group])
    assert tuple(model.H2_GROUPS[group]) == tuple(reference.H2_TABLE[group])
    net = model.Net1989()
    params = jax.tree.map(jnp.asarray, randomised(init(net, seed=8), seed=9))
    for other in {0, 1, 2} - {group}:
        params[f"H2_{other}"] = {"kernel": jnp.zeros_like(params[f"H2_{other}"]["kernel"])}
    x, _ = tiny_data(3, seed=10)
    grads = jax.grad(lambda p: net.apply({"params": p}, x).sum())(params)
    per_map = np.abs(np.asarray(grads["H1"]["kernel"])).sum(axis=(0, 1, 2)) + np.abs(np.asarray(grads["H1_bias"])).sum(axis=(0, 1))
    reads = {m for m in range(12) if per_map[m] > 0}
    assert reads == expected
    assert per_map[sorted(expected)].min() > 1e-6


def test_each_h2_output_map_reads_the_right_h1_maps():
    """Perturb one H1 map (through its biases) and see which of the 12 H2 maps move: maps 4g..4g+3
    must move exactly when the H1 map is in group g's table."""
    net = model.Net1989()
    params = jax.tree.map(np.asarray, randomised(init(net, seed=11), seed=12))
    x, _ = tiny_data(2, seed=13)

    def h2(p):
        _, state = net.apply({"params": p}, x, capture_intermediates=True, mutable=["intermediates"])
        inter = state["intermediates"]
        return np.concatenate([np.asarray(inter[f"H2_{g}"]["__call__"][0]) for g in range(3)], axis=-1)

    base = h2(params)
    for m in range(12):
        bumped = {**params, "H1_bias": params["H1_bias"].copy()}
        bumped["H1_bias"][..., m] += 0.5
        moved = np.abs(h2(bumped) - base).max(axis=(0, 1, 2)) > 1e-6  # which of the 12 H2 maps changed
        want = np.array([m in reference.H2_TABLE[k // 4] for k in range(12)])
        np.testing.assert_array_equal(moved, want, err_msg=f"H1 map {m}")


@pytest.mark.parametrize("bias", [-1.0, 0.0, 0.5])
def test_output_bias_initialised_and_other_biases_zero(bias):
    params = init(model.Net1989(output_bias_init=bias), seed=14)
    np.testing.assert_array_equal(params["out_bias"], np.full(10, bias, np.float32))
    for name in ("H1_bias", "H2_bias", "H3_bias"):
        np.testing.assert_array_equal(params[name], 0.0)


@pytest.mark.parametrize("init_name,power", [("uniform_2.4_sqrt_fan_in", 0.5), ("uniform_2.4_fan_in", 1.0)])
def test_uniform_init_limits(init_name, power):
    params = init(model.Net1989(weight_init=init_name), seed=15)
    for layer, fan_in in FAN_IN.items():
        w = np.asarray(params[layer]["kernel"], np.float64)
        limit = 2.4 / fan_in**power
        assert np.abs(w).max() <= limit, layer
        assert np.abs(w).max() > 0.85 * limit, layer  # uses the whole range (>= 300 draws)
        assert abs(w.mean()) < 0.1 * limit, layer
        np.testing.assert_allclose(w.std(), limit / np.sqrt(3), rtol=0.15, err_msg=layer)  # uniform, not normal
    other = init(model.Net1989(weight_init=init_name), seed=16)
    assert not np.array_equal(params["H1"]["kernel"], other["H1"]["kernel"])


def test_build_follows_the_variant():
    from helpers import variant

    for name, (act, head, bias) in {"lecun1989": ("tanh", "tanh", -1.0), "change4_relu_dropout": ("relu", "linear", 0.0)}.items():
        net = model.build(variant(name))
        assert (net.activation, net.head, net.output_bias_init) == (act, head, bias)
        assert net.dropout == variant(name).dropout
