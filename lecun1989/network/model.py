"""The 1989 network in Flax, drawn the way the paper draws it (the readable reference model).

Input 16x16 in [-1, 1]. H1: pad 2 with -1, 12 maps of 5x5 stride 2 -> 8x8x12, one bias per unit.
H2: pad 2 with -1, 12 maps of 5x5 stride 2, each group of 4 reading 8 of the 12 H1 maps -> 4x4x12,
one bias per unit. H3: 30 units. Output: 10 units. 9,760 parameters.
"""

from collections.abc import Callable

import jax
import jax.numpy as jnp
from flax import linen as nn


def scaled_tanh(a):
    """LeCun's scaled hyperbolic tangent, 1.7159 tanh(2a/3): f(+-1) = +-1, so +-1 targets sit in its
    quasi-linear range rather than at its asymptotes."""
    return 1.7159 * jnp.tanh(2.0 * a / 3.0)


ACTIVATIONS = {"tanh": jnp.tanh, "scaled_tanh": scaled_tanh, "relu": nn.relu}
HEADS = {"tanh": jnp.tanh, "scaled_tanh": scaled_tanh, "linear": lambda a: a}  # the output units' squashing
H2_GROUPS = ((0, 1, 2, 3, 4, 5, 6, 7), (4, 5, 6, 7, 8, 9, 10, 11), (0, 1, 2, 3, 8, 9, 10, 11))
PAD_VALUE = -1.0  # the paper pads with the background value, not 0


def uniform_fan_in(power: float, scale: float = 2.4):
    """Weights uniform in +-scale / fan_in**power (fan_in = all inputs of one unit)."""

    def init(key, shape, dtype=jnp.float32):
        fan_in = 1
        for d in shape[:-1]:
            fan_in *= d
        limit = scale / fan_in**power
        return jax.random.uniform(key, shape, dtype, -limit, limit)

    return init


INITS = {
    "uniform_2.4_sqrt_fan_in": uniform_fan_in(0.5),
    "uniform_2.4_fan_in": uniform_fan_in(1.0),
    "he_uniform": nn.initializers.he_uniform(),
    "lecun_normal": nn.initializers.lecun_normal(),
}


def pad(x):
    return jnp.pad(x, ((0, 0), (2, 2), (2, 2), (0, 0)), constant_values=PAD_VALUE)


class Net1989(nn.Module):
    activation: str = "tanh"
    head: str = "tanh"  # "tanh"/"scaled_tanh": the 1989 squashed outputs; "linear": logits for softmax
    dropout: float = 0.0  # on the H2 output, training only
    weight_init: str = "uniform_2.4_sqrt_fan_in"
    output_bias_init: float = -1.0
    kernel_init: Callable | None = None  # instead of INITS[weight_init]: network/init.py hands in the raw random bits

    @nn.compact
    def __call__(self, x, train: bool = False, dropout_rng=None):
        """x: (n, 16, 16) -> (n, 10). Dropout draws its mask from dropout_rng if given (the fast
        engine passes the same key to both models), else from the 'dropout' rng collection."""
        act, kernel_init, zeros = ACTIVATIONS[self.activation], self.kernel_init or INITS[self.weight_init], nn.initializers.zeros
        conv = dict(kernel_size=(5, 5), strides=2, padding="VALID", use_bias=False, kernel_init=kernel_init)

        h1 = nn.Conv(12, name="H1", **conv)(pad(x[..., None]))
        h1 = act(h1 + self.param("H1_bias", zeros, (8, 8, 12)))

        h1 = pad(h1)
        h2 = jnp.concatenate([nn.Conv(4, name=f"H2_{g}", **conv)(h1[..., list(maps)]) for g, maps in enumerate(H2_GROUPS)], axis=-1)
        h2 = act(h2 + self.param("H2_bias", zeros, (4, 4, 12)))
        h2 = nn.Dropout(self.dropout, deterministic=not train)(h2, rng=dropout_rng)

        h3 = nn.Dense(30, use_bias=False, kernel_init=kernel_init, name="H3")(h2.reshape(h2.shape[0], -1))
        h3 = act(h3 + self.param("H3_bias", zeros, (30,)))

        out = nn.Dense(10, use_bias=False, kernel_init=kernel_init, name="out")(h3)
        out = out + self.param("out_bias", nn.initializers.constant(self.output_bias_init), (10,))
        return HEADS[self.head](out)


def build(variant) -> Net1989:
    return Net1989(
        activation=variant.activation,
        head=variant.head,
        dropout=variant.dropout,
        weight_init=variant.init,
        output_bias_init=variant.output_bias_init,
    )
