"""The initial parameters, the same bits on every machine: the Flax model's pytree (model.Net1989),
with each weight derived from JAX's random bits (threefry: integer operations, the same on every CPU)
by float32 arithmetic written out in numpy.

model.INITS computes the same numbers inside XLA, which fuses u * (max - min) + min into one fused
multiply-add where the CPU has one and not where it has not: the initial weights then differ by an
ulp between machines. Here every weight is ((bits >> 9 | 0x3f800000 as a float) - 1) * (max - min)
+ min, as jax.random.uniform, with two roundings, and limits computed in float64 by correctly
rounded operations (math.sqrt, not x ** 0.5) and rounded once to float32.

lecun_normal (a truncated normal: XLA's erfinv) has no construction here; its weights come from
model.INITS, the same to within a few ulp on every machine, not to the bit.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np

from lecun1989.network import model

ONE = np.uint32(0x3F800000)  # 1.0f: the exponent of floats in [1, 2)
EXACT = ("uniform_2.4_sqrt_fan_in", "uniform_2.4_fan_in", "he_uniform")


def raw_bits(key, shape, dtype=jnp.float32):
    """A kernel_init handing the parameter's random bits through Flax, as a float32 bit pattern."""
    return jax.lax.bitcast_convert_type(jax.random.bits(key, shape, jnp.uint32), dtype)


def unit_floats(bits: np.ndarray) -> np.ndarray:
    """uint32 random bits -> float32 in [0, 1), exactly as jax.random.uniform forms them."""
    return ((bits >> np.uint32(9)) | ONE).view(np.float32) - np.float32(1.0)


def fan_in(shape) -> int:
    return math.prod(shape[:-1])  # every input of one unit (Flax's fan_in for these kernels too)


def weights(init: str, bits: np.ndarray) -> np.ndarray:
    """One kernel of shape bits.shape from its random bits, float32."""
    u, n = unit_floats(bits), fan_in(bits.shape)
    if init == "he_uniform":  # flax variance_scaling(2, fan_in, uniform): uniform(-1, 1) * sqrt(3 * variance)
        variance = np.float32(2.0 / n)
        return (u * np.float32(2.0) - np.float32(1.0)) * np.sqrt(np.float32(3.0) * variance)
    limit = 2.4 / (math.sqrt(n) if init == "uniform_2.4_sqrt_fan_in" else n)
    low, high = np.float32(-limit), np.float32(limit)
    return np.maximum(low, u * (high - low) + low)  # float32 numpy: a multiply, then an add


def init_params(variant, key) -> dict:
    """The variant's initial parameters (the 'params' of model.build(variant).init), from key."""
    net = model.build(variant)
    x = jnp.zeros((1, 16, 16), jnp.float32)
    if variant.init not in EXACT:
        return net.init(key, x)["params"]
    raw = net.clone(kernel_init=raw_bits).init(key, x)["params"]

    def finish(path, leaf):
        if path[-1].key != "kernel":  # biases: zeros, or the constant output bias
            return leaf
        return jnp.asarray(weights(variant.init, np.asarray(leaf).view(np.uint32)))

    return jax.tree_util.tree_map_with_path(finish, raw)
