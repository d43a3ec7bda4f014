"""init.init_params: the Flax model's initial parameters from the random bits, by arithmetic written
out in numpy, against the model's own initializers."""

import hashlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import ROOT

from lecun1989.network import init, model
from lecun1989.pipeline.schema import load_params


def variant(init_name, output_bias_init=-1.0):
    return (
        load_params(ROOT / "params.yaml").variants["lecun1989"].model_copy(update={"init": init_name, "output_bias_init": output_bias_init})
    )


def flax_init(v, key):
    return model.build(v).init(key, jnp.zeros((1, 16, 16), jnp.float32))["params"]


@pytest.mark.parametrize("init_name", init.EXACT)
def test_init_params_are_the_flax_initializers_to_an_ulp(init_name):
    v, key = variant(init_name), jax.random.PRNGKey(3)
    ours, theirs = init.init_params(v, key), flax_init(v, key)
    assert jax.tree.structure(ours) == jax.tree.structure(theirs)
    for path, a, b in zip(jax.tree_util.tree_leaves_with_path(ours), jax.tree.leaves(ours), jax.tree.leaves(theirs)):
        assert a.shape == b.shape and a.dtype == b.dtype == jnp.float32, path
        # XLA may fuse u * (max - min) + min into one rounding, ours rounds twice: an ulp of the limit
        a, b = np.asarray(a), np.asarray(b)
        assert np.abs(a - b).max() <= np.spacing(np.abs(b).max()), path
    assert float(jnp.abs(ours["H3"]["kernel"]).max()) > 0.5 * float(jnp.abs(theirs["H3"]["kernel"]).max())


@pytest.mark.parametrize("init_name", ["uniform_2.4_sqrt_fan_in", "uniform_2.4_fan_in"])
def test_init_params_ranges(init_name):
    params = init.init_params(variant(init_name, 0.0), jax.random.PRNGKey(0))
    for name, fan_in in (("H1", 25), ("H2_0", 200), ("H2_2", 200), ("H3", 192), ("out", 30)):
        w = np.asarray(params[name]["kernel"])
        limit = 2.4 / (fan_in**0.5 if init_name == "uniform_2.4_sqrt_fan_in" else fan_in)
        assert np.abs(w).max() <= np.float32(limit) and np.abs(w).max() > 0.9 * limit, name
        assert abs(float(w.mean())) < 0.2 * limit and len(np.unique(w)) > 0.99 * w.size  # centred; each its own draw
    assert all(float(jnp.abs(params[b]).max()) == 0.0 for b in ("H1_bias", "H2_bias", "H3_bias", "out_bias"))


def test_init_params_other_seeds_other_weights_and_output_bias():
    v = variant("uniform_2.4_sqrt_fan_in", -1.0)
    a, b = init.init_params(v, jax.random.PRNGKey(0)), init.init_params(v, jax.random.PRNGKey(1))
    assert float(jnp.abs(a["H1"]["kernel"] - b["H1"]["kernel"]).max()) > 0.1
    assert np.all(np.asarray(a["out_bias"]) == -1.0)


def test_unit_floats_are_jax_random_uniform():
    key = jax.random.PRNGKey(7)
    bits = np.asarray(jax.random.bits(key, (1000,), jnp.uint32))
    assert init.unit_floats(bits).tobytes() == np.asarray(jax.random.uniform(key, (1000,), jnp.float32)).tobytes()


# Written on an Intel Xeon with AVX-512: every machine must compute these bytes.
DIGEST = "e94274b1c1bb1ca6ec648296c83dc2fbd746679e7aae0020483a913033c2141b"


def test_init_params_bytes_are_the_same_on_every_machine():
    params = init.init_params(variant("uniform_2.4_sqrt_fan_in"), jax.random.PRNGKey(0))
    digest = hashlib.sha256(b"".join(np.asarray(leaf).tobytes() for leaf in jax.tree.leaves(params))).hexdigest()
    assert digest == DIGEST
