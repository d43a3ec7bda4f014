"""The loss's second derivative with respect to every weight, estimated the 1989 way: the diagonal
of the Gauss-Newton matrix back-propagated layer by layer (LeCun 1987; Becker and LeCun 1988; the
"stochastic diagonal Levenberg-Marquardt" appendix of LeCun et al. 1998). The readable reference,
on the Flax model's parameters and layer by layer as model.Net1989 computes them.

With a = W x + b the total input of a unit, f its squashing function and E the loss:
  at the outputs       d2E/da2 = E''(out) f'(a)^2              (E'' = 2/10 for the mean of 10 squares)
  at a hidden unit i   d2E/da_i2 ~ f'(a_i)^2 sum_k w_ki^2 d2E/da_k2   (over the units k that i feeds)
  for a weight         d2E/dw2  ~ sum over the connections sharing w of x^2 d2E/da2   (bias: x = 1)
Terms in f'' and between two units (or two connections) are dropped, so every estimate is >= 0.
Both sums are a backward pass of the layer's linear map evaluated at (W^2, x^2): its vector-Jacobian
product with d2E/da2 gives the weights' sum (x^2) and the inputs' sum (W^2) at once.
"""

import jax
import jax.numpy as jnp

from lecun1989.network.model import ACTIVATIONS, H2_GROUPS, HEADS, pad

MSE_CURVATURE = 2.0 / 10  # d2/do2 of training/losses.py's mse_to_pm1, the mean of 10 squares (o - t)^2


def conv(x, kernel):
    """Flax's nn.Conv(kernel_size=(5, 5), strides=2, padding="VALID", use_bias=False)."""
    return jax.lax.conv_general_dilated(x, kernel, (2, 2), "VALID", dimension_numbers=("NHWC", "HWIO", "NHWC"))


# Each layer's linear map from its (padded) input to its units' total inputs, and its parameters.
def h1(w, x):
    return conv(x, w["H1"]["kernel"]) + w["H1_bias"]


def h2(w, x):
    return jnp.concatenate([conv(x[..., list(maps)], w[f"H2_{g}"]["kernel"]) for g, maps in enumerate(H2_GROUPS)], -1) + w["H2_bias"]


def h3(w, x):
    return x.reshape(x.shape[0], -1) @ w["H3"]["kernel"] + w["H3_bias"]


def out(w, x):
    return x @ w["out"]["kernel"] + w["out_bias"]


LAYERS = (
    (h1, ("H1", "H1_bias")),
    (h2, ("H2_0", "H2_1", "H2_2", "H2_bias")),
    (h3, ("H3", "H3_bias")),
    (out, ("out", "out_bias")),
)
INPUT_OF = (pad, pad, lambda y: y, lambda y: y)  # what each layer does to the previous layer's output
UNPAD = (lambda d: d[:, 2:-2, 2:-2], lambda d: d[:, 2:-2, 2:-2], lambda d: d.reshape(-1, 4, 4, 12), lambda d: d)


def slope(f, a):
    """f'(a), elementwise."""
    return jax.jvp(f, (a,), (jnp.ones_like(a),))[1]


def forward(params, X, activation: str, head: str):
    """X (n, 16, 16) -> each layer's input and total input, and the outputs (as model.Net1989)."""
    act, y = ACTIVATIONS[activation], X[..., None]
    inputs, totals = [], []
    for i, (layer, names) in enumerate(LAYERS):
        inputs.append(INPUT_OF[i](y))
        totals.append(layer({k: params[k] for k in names}, inputs[-1]))
        y = act(totals[-1]) if i < len(LAYERS) - 1 else HEADS[head](totals[-1])
    return inputs, totals, y


def gauss_newton_diagonal(params, X, activation: str, head: str) -> dict:
    """h_kk >= 0 for every parameter, a pytree like params: the estimate above averaged over the
    digits X (n, 16, 16), for the mse loss."""
    inputs, totals, _ = forward(params, X, activation, head)
    h = {}
    d2a = MSE_CURVATURE * slope(HEADS[head], totals[-1]) ** 2
    for i in reversed(range(len(LAYERS))):
        layer, names = LAYERS[i]
        w_squared = {k: jax.tree.map(jnp.square, params[k]) for k in names}
        _, backward = jax.vjp(layer, w_squared, jnp.square(inputs[i]))
        h_w, d2x = backward(d2a)  # sums over connections (and digits) of x^2 d2E/da2; of w^2 d2E/da2
        h.update(jax.tree.map(lambda s: s / X.shape[0], h_w))
        if i:
            d2a = slope(ACTIVATIONS[activation], totals[i - 1]) ** 2 * UNPAD[i](d2x)
    return h


def before_epoch(variant, params, epoch, X, estimate=None) -> dict:
    """SDLM's h before an epoch: the estimate over sdlm.hessian_samples digits, the ones after the
    previous epoch's (cycling through X), in their unshifted form. estimate: gauss_newton_diagonal
    (default) or hessian_fixed's, the same estimate in a fixed order (what training uses)."""
    n, k = X.shape[0], variant.sdlm.hessian_samples
    window = (epoch * k + jnp.arange(k)) % n
    return (estimate or gauss_newton_diagonal)(params, X[window], variant.activation, variant.head)
