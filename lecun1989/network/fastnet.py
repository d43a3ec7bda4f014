"""The 1989 network for batch-1 training on a CPU: each convolution is one gather plus one matmul.

A step on one digit is latency-bound (63,660 multiply-adds forward), so what counts is how many
kernels XLA launches and whether each one runs vectorized, not the arithmetic. Here a convolution is
a gather with a constant index table (im2col; the -1 padding is one extra element appended to the
input, index `n`), then one matmul. The H2 convolution has its own gradient (`custom_vjp`): the
gather's gradient is another gather through the inverse table plus a sum (autodiff would
scatter-add), and each matmul of the backward pass is written in the operand order that XLA's CPU
backend hands to its fast small-matmul library (see `h2_conv_bwd`).

Layout: maps first ("map-major": h1 is (12 maps, 64 positions), w2 is (12 out, 300 in)), so that the
long axis is the last one. XLA's CPU fusions vectorize along the last axis only; with 12 maps last
(the Flax layout) the weight-update kernels ran scalar and the step was ~20 % slower (measured, README
Performance). `to_fast` / `to_flax` convert the Flax reference model's pytree exactly (transposes, a
permutation of H3's inputs, and the three H2 groups as one masked matrix), so the same numbers train.
"""

import jax
import jax.numpy as jnp
import numpy as np

from lecun1989.network.model import ACTIVATIONS, H2_GROUPS, HEADS, PAD_VALUE

K, STRIDE, PAD = 5, 2, 2


def conv_table(size: int, n_maps: int, maps, shift=(0, 0)) -> np.ndarray:
    """Index table (K*K*len(maps), out_positions) into an image (n_maps, size, size) flattened,
    rolled by shift, padded by PAD with the value at index n_maps*size*size. Rows run (ky, kx, map)
    like a Flax kernel (K, K, in, out)."""
    out = (size + 2 * PAD - K) // STRIDE + 1
    pad_index = n_maps * size * size
    table = np.full((K, K, len(maps), out, out), pad_index, np.int32)
    for oy in range(out):
        for ox in range(out):
            for ky in range(K):
                for kx in range(K):
                    y, x = STRIDE * oy + ky - PAD, STRIDE * ox + kx - PAD
                    if 0 <= y < size and 0 <= x < size:
                        y, x = (y - shift[0]) % size, (x - shift[1]) % size  # jnp.roll semantics
                        table[ky, kx, :, oy, ox] = [(m * size + y) * size + x for m in maps]
    return table.reshape(-1, out * out)


def inverse_table(table: np.ndarray, n: int) -> np.ndarray:
    """For each of n source elements, the flat positions in `table` that read it, padded with
    table.size (an appended zero), so that the gradient of a gather is a gather and a sum."""
    flat = table.ravel()
    lists = [np.flatnonzero(flat == j) for j in range(n)]
    inv = np.full((n, max(len(p) for p in lists)), flat.size, np.int32)
    for j, p in enumerate(lists):
        inv[j, : len(p)] = p
    return inv


def padded(v, value):
    return jnp.concatenate([v.reshape(-1), jnp.full((1,), value, v.dtype)])


def shifts(max_pixels: int) -> list[tuple[int, int]]:
    r = range(-max_pixels, max_pixels + 1)
    return [(dx, dy) for dx in r for dy in r]


def h1_tables(max_shift: int) -> np.ndarray:
    """(n_shifts, 25, 64): the H1 patches of the input rolled by each (dx, dy) in shifts()."""
    return np.stack([conv_table(16, 1, [0], s) for s in shifts(max_shift)])


H1_TABLE = h1_tables(0)[0]  # (25, 64)
H2_TABLE = conv_table(8, 12, range(12))  # (300, 16): all 12 maps; the mask below removes 4 per group
H2_INVERSE = inverse_table(H2_TABLE.T, 12 * 64)  # into the (16, 300) layout of the patches' gradient
H2_MASK = np.zeros((12, 5, 5, 12), np.float32)  # (out map, ky, kx, in map): 1 where connected
for g, maps in enumerate(H2_GROUPS):
    H2_MASK[4 * g : 4 * g + 4, :, :, list(maps)] = 1.0
H2_MASK = H2_MASK.reshape(12, 300)


@jax.custom_vjp
def h2_conv(h1, w2):
    """h1 (12, 64), w2 (12, 300) -> (12, 16): H2 before its bias. w2 must be zero off H2_MASK."""
    return h2_conv_fwd(h1, w2)[0]


def h2_conv_fwd(h1, w2):
    patches = padded(h1, PAD_VALUE)[H2_TABLE]
    return w2 @ patches, (patches, w2)


def h2_conv_bwd(residuals, g):
    patches, w2 = residuals
    # The patches' gradient as (16, 300) = g.T @ w2: with g.T materialized (the barrier stops XLA from
    # folding the transpose back into the matmul) both operands are in plain row-major order, which
    # XLA sends to YNNPACK; w2.T @ g, a transposed operand, went to a slower generic kernel.
    patches_grad = jax.lax.optimization_barrier(g.T) @ w2
    h1_grad = padded(patches_grad, 0.0)[H2_INVERSE].sum(-1).reshape(12, 64)
    return h1_grad, (g @ patches.T) * H2_MASK  # the mask keeps unconnected weights at exactly zero


h2_conv.defvjp(h2_conv_fwd, h2_conv_bwd)


def h3_kernel_flax(w3):
    """fastnet's H3 weights (30, 192), inputs in (map, position) order, as Flax's kernel (192, 30),
    inputs in (position, map) order (Flax flattens H2 as (4, 4, 12))."""
    return w3.reshape(30, 12, 16).transpose(2, 1, 0).reshape(192, 30)


def to_fast(p: dict) -> dict:
    w2 = jnp.zeros((5, 5, 12, 12), p["H2_0"]["kernel"].dtype)  # (ky, kx, in map, out map)
    for g, maps in enumerate(H2_GROUPS):
        w2 = w2.at[:, :, list(maps), 4 * g : 4 * g + 4].set(p[f"H2_{g}"]["kernel"])
    return {
        "w1": p["H1"]["kernel"].reshape(25, 12).T,
        "b1": p["H1_bias"].reshape(64, 12).T,
        "w2": w2.reshape(300, 12).T,
        "b2": p["H2_bias"].reshape(16, 12).T,
        "w3": p["H3"]["kernel"].reshape(16, 12, 30).transpose(2, 1, 0).reshape(30, 192),  # h3_kernel_flax's inverse
        "b3": p["H3_bias"],
        "w4": p["out"]["kernel"].T,
        "b4": p["out_bias"],
    }


def to_flax(f: dict) -> dict:
    w2 = f["w2"].T.reshape(5, 5, 12, 12)
    return {
        "H1": {"kernel": f["w1"].T.reshape(5, 5, 1, 12)},
        "H1_bias": f["b1"].T.reshape(8, 8, 12),
        **{f"H2_{g}": {"kernel": w2[:, :, list(maps), 4 * g : 4 * g + 4]} for g, maps in enumerate(H2_GROUPS)},
        "H2_bias": f["b2"].T.reshape(4, 4, 12),
        "H3": {"kernel": h3_kernel_flax(f["w3"])},
        "H3_bias": f["b3"],
        "out": {"kernel": f["w4"].T},
        "out_bias": f["b4"],
    }


def forward(f: dict, x_patches, activation: str, head: str, keep_mask=None, keep_prob: float = 1.0):
    """One digit's H1 patches (25, 64) -> outputs (10,). keep_mask (16, 12) in Flax's (position, map)
    order: dropout on H2, applied like flax's nn.Dropout (select(mask, h / keep_prob, 0))."""
    act = ACTIVATIONS[activation]
    h1 = act(f["w1"] @ x_patches + f["b1"])  # (12, 64)
    h2 = act(h2_conv(h1, f["w2"]) + f["b2"])  # (12, 16)
    if keep_mask is not None:
        h2 = jnp.where(keep_mask.T, h2 / keep_prob, 0.0)
    h3 = act(f["w3"] @ h2.reshape(192) + f["b3"])
    out = f["w4"] @ h3 + f["b4"]
    return HEADS[head](out)


# Evaluation is batched, so there the plain layout wins: positions x digits as the long matmul axis.
_H1_SIZE = 12 * 64  # H2_TABLE's pad index
H2_TABLE_BY_POSITION = np.where(H2_TABLE == _H1_SIZE, _H1_SIZE, H2_TABLE % 64 * 12 + H2_TABLE // 64).T.copy()  # (16, 300)


def predict(f: dict, X, activation: str, head: str):
    """Batched forward pass, no dropout: X (n, 16, 16) -> (n, 10)."""
    act = ACTIVATIONS[activation]
    n = X.shape[0]
    h1 = act(pad_rows(X)[:, H1_TABLE.T] @ f["w1"].T + f["b1"].T)  # (n, 64, 12)
    h2 = act(pad_rows(h1)[:, H2_TABLE_BY_POSITION] @ f["w2"].T + f["b2"].T)  # (n, 16, 12)
    h3 = act(h2.reshape(n, 192) @ h3_kernel_flax(f["w3"]) + f["b3"])
    out = h3 @ f["w4"].T + f["b4"]
    return HEADS[head](out)


PREDICT_CHUNK = 256  # digits per forward pass in evaluation: bounds the im2col buffers


def predict_chunked(f: dict, X, activation: str, head: str):
    """predict() on X (n, 16, 16), PREDICT_CHUNK digits at a time."""
    n = X.shape[0]
    chunks = X[: n - n % PREDICT_CHUNK].reshape(-1, PREDICT_CHUNK, 16, 16)
    outputs = jax.lax.map(lambda x: predict(f, x, activation, head), chunks).reshape(-1, 10)
    if n % PREDICT_CHUNK:
        outputs = jnp.concatenate([outputs, predict(f, X[n - n % PREDICT_CHUNK :], activation, head)])
    return outputs


def pad_rows(v):
    n = v.shape[0]
    return jnp.concatenate([v.reshape(n, -1), jnp.full((n, 1), PAD_VALUE, v.dtype)], axis=1)
