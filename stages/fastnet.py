"""The 1989 network for batch-1 training on a CPU: each convolution is one gather plus one matmul.

A step on one digit is latency-bound (63,660 multiply-adds forward), so what counts is the number of
kernels XLA launches, not arithmetic. Here a convolution is a gather with a constant index table
(im2col; the -1 padding is one extra element appended to the input, index `n`), then one matmul.
The gather's gradient would be a scatter-add under autodiff; `custom_vjp` replaces it with another
gather through the inverse table, followed by a sum.

Parameters live in a flat "fast" layout during an epoch (`to_fast` / `to_flax` are pure reshapes of
the Flax reference model's pytree, plus a stack of the three H2 groups), so the same numbers train.
"""

import jax
import jax.numpy as jnp
import numpy as np

from model import ACTIVATIONS, H2_GROUPS, PAD_VALUE

K, STRIDE, PAD = 5, 2, 2


def conv_table(size: int, n_maps: int, maps, shift=(0, 0)) -> np.ndarray:
    """Index table (out_positions, K*K*len(maps)) into an image (size, size, n_maps) flattened,
    rolled by shift, padded by PAD with the value at index size*size*n_maps. Columns run (ky, kx, map)
    like a Flax kernel (K, K, in, out)."""
    out = (size + 2 * PAD - K) // STRIDE + 1
    pad_index = size * size * n_maps
    table = np.full((out, out, K, K, len(maps)), pad_index, np.int32)
    for oy in range(out):
        for ox in range(out):
            for ky in range(K):
                for kx in range(K):
                    y, x = STRIDE * oy + ky - PAD, STRIDE * ox + kx - PAD
                    if 0 <= y < size and 0 <= x < size:
                        y, x = (y - shift[0]) % size, (x - shift[1]) % size  # jnp.roll semantics
                        table[oy, ox, ky, kx] = [(y * size + x) * n_maps + m for m in maps]
    return table.reshape(out * out, -1)


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


def patch_gather(table: np.ndarray, n: int):
    """v (n elements, any shape) -> v padded with PAD_VALUE, gathered by table; gradient by gather-sum."""
    inv = inverse_table(table, n)

    @jax.custom_vjp
    def gather(v):
        return padded(v, PAD_VALUE)[table]

    def fwd(v):
        return gather(v), v.shape

    def bwd(shape, g):
        return (padded(g, 0.0)[inv].sum(-1).reshape(shape),)

    gather.defvjp(fwd, bwd)
    return gather


def shifts(max_pixels: int) -> list[tuple[int, int]]:
    r = range(-max_pixels, max_pixels + 1)
    return [(dx, dy) for dx in r for dy in r]


def h1_tables(max_shift: int) -> np.ndarray:
    """(n_shifts, 64, 25): the H1 patches of the input rolled by each (dx, dy) in shifts()."""
    return np.stack([conv_table(16, 1, [0], s) for s in shifts(max_shift)])


H1_TABLE = h1_tables(0)[0]  # (64, 25)
H2_TABLE = conv_table(8, 12, range(12))  # (16, 300): all 12 maps; the mask below removes 4 per group
h2_patches = patch_gather(H2_TABLE, 8 * 8 * 12)
H2_MASK = np.zeros((5, 5, 12, 12), np.float32)  # (ky, kx, in map, out map): 1 where connected
for g, maps in enumerate(H2_GROUPS):
    H2_MASK[:, :, list(maps), 4 * g : 4 * g + 4] = 1.0
H2_MASK = H2_MASK.reshape(300, 12)


def h2_dense(p: dict):
    """The three H2 group kernels (5, 5, 8, 4) as one (300, 12) matrix, zero where not connected."""
    w = jnp.zeros((5, 5, 12, 12), p["H2_0"]["kernel"].dtype)
    for g, maps in enumerate(H2_GROUPS):
        w = w.at[:, :, list(maps), 4 * g : 4 * g + 4].set(p[f"H2_{g}"]["kernel"])
    return w.reshape(300, 12)


def h2_groups(w2):
    w = w2.reshape(5, 5, 12, 12)
    return [w[:, :, list(maps), 4 * g : 4 * g + 4] for g, maps in enumerate(H2_GROUPS)]


def to_fast(p: dict) -> dict:
    return {
        "w1": p["H1"]["kernel"].reshape(25, 12),
        "b1": p["H1_bias"].reshape(64, 12),
        "w2": h2_dense(p),
        "b2": p["H2_bias"].reshape(16, 12),
        "w3": p["H3"]["kernel"],
        "b3": p["H3_bias"],
        "w4": p["out"]["kernel"],
        "b4": p["out_bias"],
    }


def to_flax(f: dict) -> dict:
    return {
        "H1": {"kernel": f["w1"].reshape(5, 5, 1, 12)},
        "H1_bias": f["b1"].reshape(8, 8, 12),
        **{f"H2_{g}": {"kernel": w} for g, w in enumerate(h2_groups(f["w2"]))},
        "H2_bias": f["b2"].reshape(4, 4, 12),
        "H3": {"kernel": f["w3"]},
        "H3_bias": f["b3"],
        "out": {"kernel": f["w4"]},
        "out_bias": f["b4"],
    }


def forward(f: dict, x_patches, activation: str, head: str, keep_mask=None, keep_prob: float = 1.0):
    """One digit's H1 patches (64, 25) -> outputs (10,). keep_mask (16, 12): dropout on H2,
    applied like flax's nn.Dropout (select(mask, h / keep_prob, 0))."""
    act = ACTIVATIONS[activation]
    h1 = act(x_patches @ f["w1"] + f["b1"])  # (64, 12)
    h2 = act(h2_patches(h1) @ (f["w2"] * H2_MASK) + f["b2"])  # (16, 12); the mask zeroes w2's gradient too
    if keep_mask is not None:
        h2 = jnp.where(keep_mask, h2 / keep_prob, 0.0)
    h3 = act(h2.reshape(192) @ f["w3"] + f["b3"])
    out = h3 @ f["w4"] + f["b4"]
    return jnp.tanh(out) if head == "tanh" else out


def predict(f: dict, X, activation: str, head: str):
    """Batched forward pass, no dropout: X (n, 16, 16) -> (n, 10)."""
    act = ACTIVATIONS[activation]
    n = X.shape[0]
    h1 = act(jnp.einsum("npk,kc->npc", pad_rows(X)[:, H1_TABLE], f["w1"]) + f["b1"])
    h2 = act(jnp.einsum("npk,kc->npc", pad_rows(h1)[:, H2_TABLE], f["w2"]) + f["b2"])
    h3 = act(h2.reshape(n, 192) @ f["w3"] + f["b3"])
    out = h3 @ f["w4"] + f["b4"]
    return jnp.tanh(out) if head == "tanh" else out


def pad_rows(v):
    n = v.shape[0]
    return jnp.concatenate([v.reshape(n, -1), jnp.full((n, 1), PAD_VALUE, v.dtype)], axis=1)
