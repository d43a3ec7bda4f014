"""hessian.gauss_newton_diagonal in a fixed order of IEEE-754 operations: the same bits on every machine.

The same estimate (see hessian.py) computed in numpy float64 from elementwise operations only: each
convolution as its 25 taps added one after the other, each sum over units in index order, each sum
over digits and positions in one fixed pairwise tree (tree_sum), tanh from an exp written out here
(numpy's own tanh and exp pick SIMD kernels by CPU), no dot product or BLAS. Rounded once, at the
end, to float32. Callable inside jax.jit (through jax.pure_callback) with hessian.py's signature.
The native engine computes the same operations in C++ (training/native/curvature.h), to the bit.
"""

import jax
import jax.numpy as jnp
import numpy as np

from lecun1989.network.hessian import MSE_CURVATURE
from lecun1989.network.model import H2_GROUPS, PAD_VALUE

LOG2E, LN2 = 1.4426950408889634, 0.6931471805599453
INV_FACTORIAL = [1.0 / np.prod(np.arange(1, k + 1, dtype=np.float64)) for k in range(14, -1, -1)]  # 1/14! .. 1/0!
SCALED_A, SCALED_S = 1.7159, 2.0 / 3.0  # model.scaled_tanh: A tanh(S a)


def exp(x: np.ndarray) -> np.ndarray:
    """e^x for x in [0, 60]: x = k ln 2 + r, |r| <= ln 2 / 2, e^r by its Taylor series to r^14."""
    k = np.rint(x * LOG2E)
    r = x - k * LN2
    p = np.full_like(r, INV_FACTORIAL[0])
    for c in INV_FACTORIAL[1:]:
        p = p * r + c
    return np.ldexp(p, k.astype(np.int32))


def tanh(a: np.ndarray) -> np.ndarray:
    """1 - 2 / (e^(2|a|) + 1), with a's sign; +-1 beyond |a| = 30 (as in float64)."""
    t = 1.0 - 2.0 / (exp(np.minimum(2.0 * np.abs(a), 60.0)) + 1.0)
    return np.where(a < 0, -t, t)


def act(name: str, a: np.ndarray) -> np.ndarray:
    if name == "tanh":
        return tanh(a)
    if name == "scaled_tanh":
        return SCALED_A * tanh(SCALED_S * a)
    if name == "relu":
        return np.maximum(a, 0.0)
    return a  # the linear head


def slope(name: str, a: np.ndarray) -> np.ndarray:
    """f'(a), as jax.jvp differentiates model's functions (relu: 0 at 0)."""
    if name == "tanh":
        t = tanh(a)
        return 1.0 - t * t
    if name == "scaled_tanh":
        t = tanh(SCALED_S * a)
        return SCALED_A * (1.0 - t * t) * SCALED_S
    if name == "relu":
        return (a > 0).astype(np.float64)
    return np.ones_like(a)


def tree_sum(a: np.ndarray) -> np.ndarray:
    """The sum over axis 0 in one pairwise tree fixed by the length: halves added elementwise."""
    while len(a) > 1:
        half = len(a) // 2
        pairs = a[:half] + a[half : 2 * half]
        a = np.concatenate([pairs, a[2 * half :]]) if len(a) % 2 else pairs
    return a[0]


def pad(x: np.ndarray) -> np.ndarray:
    """(n, h, w, maps) -> (n, h + 4, w + 4, maps), the border PAD_VALUE (model.pad)."""
    out = np.full((x.shape[0], x.shape[1] + 4, x.shape[2] + 4, x.shape[3]), PAD_VALUE)
    out[:, 2:-2, 2:-2] = x
    return out


def tap(x: np.ndarray, ky: int, kx: int, size: int) -> np.ndarray:
    """A 5x5 stride-2 convolution's input at kernel offset (ky, kx): x[:, 2y + ky, 2x + kx] for y, x < size."""
    return x[:, ky : ky + 2 * size : 2, kx : kx + 2 * size : 2]


def conv(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray, size: int) -> np.ndarray:
    """x (n, H, W, in) * kernel (5, 5, in, out) at stride 2 -> (n, size, size, out), plus bias: the
    terms added in the order (ky, kx, input map)."""
    acc = np.zeros((x.shape[0], size, size, kernel.shape[3]))
    for ky in range(5):
        for kx in range(5):
            patch = tap(x, ky, kx, size)
            for i in range(kernel.shape[2]):
                acc = acc + patch[..., i, None] * kernel[ky, kx, i]
    return acc + bias


def dense(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray) -> np.ndarray:
    acc = np.zeros((x.shape[0], kernel.shape[1]))
    for f in range(kernel.shape[0]):
        acc = acc + x[:, f, None] * kernel[f]
    return acc + bias


MAPS = np.array(H2_GROUPS)  # (group, j): the H1 map that group's input j reads


def h2_kernels(w: dict) -> np.ndarray:
    """H2's three group kernels as one array (5, 5, j, group, o)."""
    return np.stack([w[f"H2_{g}"]["kernel"] for g in range(3)], axis=3)


def h2_total(h1p: np.ndarray, w: dict) -> np.ndarray:
    """The three groups' convolutions side by side, each unit's terms added in the order (ky, kx, j)."""
    kernels, acc, by_group = h2_kernels(w), np.zeros((h1p.shape[0], 4, 4, 3, 4)), h1p[..., MAPS.T]  # (n, 12, 12, j, group)
    for ky in range(5):
        for kx in range(5):
            patch = tap(by_group, ky, kx, 4)
            for j in range(8):
                acc = acc + patch[..., j, :, None] * kernels[ky, kx, j]
    return acc.reshape(*acc.shape[:3], 12) + w["H2_bias"]


def _diagonal(params: dict, X: np.ndarray, activation: str, head: str) -> dict:
    p = jax.tree.map(lambda a: np.asarray(a, np.float64), params)
    n = X.shape[0]
    x0 = pad(np.asarray(X, np.float64)[..., None])  # (n, 20, 20, 1)
    a1 = conv(x0, p["H1"]["kernel"], p["H1_bias"], 8)
    x1 = pad(act(activation, a1))  # (n, 12, 12, 12)
    a2 = h2_total(x1, p)
    x2 = act(activation, a2).reshape(n, -1)  # (n, 192)
    a3 = dense(x2, p["H3"]["kernel"], p["H3_bias"])
    x3 = act(activation, a3)
    a4 = dense(x3, p["out"]["kernel"], p["out_bias"])
    s = slope(head, a4)
    d2a = MSE_CURVATURE * (s * s)
    h = {}

    def dense_back(name, x, d2a):
        """The weights' and biases' sums, and the inputs' sum (over units in index order)."""
        h[name] = {"kernel": tree_sum(np.square(x)[:, :, None] * d2a[:, None, :])}
        h[f"{name}_bias"] = tree_sum(d2a)
        w2 = np.square(p[name]["kernel"])
        d2x = np.zeros_like(x)
        for u in range(w2.shape[1]):
            d2x = d2x + w2[:, u] * d2a[:, u, None]
        return d2x

    d2x3 = dense_back("out", x3, d2a)
    s = slope(activation, a3)
    d2x2 = dense_back("H3", x2, s * s * d2x3)
    s = slope(activation, a2)
    d2a2 = s * s * d2x2.reshape(n, 4, 4, 12)
    h["H2_bias"] = tree_sum(d2a2)
    x1_sq, d2x1 = np.square(x1)[..., MAPS], np.zeros_like(x1)  # x1_sq: (n, 12, 12, group, j)
    w2, d, kernels = np.square(h2_kernels(p)), d2a2.reshape(n, 4, 4, 3, 4), np.zeros((5, 5, 3, 8, 4))
    for ky in range(5):
        for kx in range(5):
            patch = tap(x1_sq, ky, kx, 4)
            kernels[ky, kx] = tree_sum((patch[..., None] * d[..., None, :]).reshape(-1, 3 * 8 * 4)).reshape(3, 8, 4)
            back = d[..., None, 0] * w2[ky, kx, :, :, 0].T  # (n, 4, 4, group, j): the inputs' sums over o in order
            for o in range(1, 4):
                back = back + d[..., None, o] * w2[ky, kx, :, :, o].T
            for g in range(3):
                d2x1[:, ky : ky + 8 : 2, kx : kx + 8 : 2, MAPS[g]] += back[..., g, :]
    h.update({f"H2_{g}": {"kernel": kernels[:, :, g]} for g in range(3)})
    s = slope(activation, a1)
    d2a1 = s * s * d2x1[:, 2:-2, 2:-2]
    h["H1_bias"] = tree_sum(d2a1)
    x0_sq, kernel = np.square(x0), np.zeros((5, 5, 1, 12))
    for ky in range(5):
        for kx in range(5):
            kernel[ky, kx, 0] = tree_sum((tap(x0_sq, ky, kx, 8) * d2a1).reshape(-1, 12))
    h["H1"] = {"kernel": kernel}
    return jax.tree.map(lambda a: (a / n).astype(np.float32), h)


def gauss_newton_diagonal(params, X, activation: str, head: str) -> dict:
    """hessian.gauss_newton_diagonal's h_kk (a pytree like params, float32), in a fixed order."""
    shapes = jax.tree.map(lambda a: jax.ShapeDtypeStruct(jnp.shape(a), jnp.float32), params)

    def host(params, X):
        h = _diagonal(params, np.asarray(X), activation, head)
        return jax.tree.map(lambda s, a: a.reshape(s.shape), shapes, {k: h[k] for k in params})

    return jax.pure_callback(host, shapes, params, X)
