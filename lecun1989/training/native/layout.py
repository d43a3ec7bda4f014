"""The native engine's flat parameter order, as an index table into fastnet's layout.

fastnet's parameters (and the optimizer state over them) are flattened in FAST_KEYS order; the
engine reads PACK[i] as its parameter i. Its order puts the blocks that it reads 8 at a time first,
at multiples of 8 (offsets in net.h), and keeps H2's connected weights only, per group of 4 output
maps as (25 kernel offsets, 8 input maps, 4 output maps). UNPACK is the inverse: fastnet's flat
position j reads the engine's UNPACK[j], or the zero appended after them (H2's unconnected weights).
"""

import jax.numpy as jnp
import numpy as np

from lecun1989.network.model import H2_GROUPS

FAST_SHAPES = {"w1": (12, 25), "b1": (12, 64), "w2": (12, 300), "b2": (12, 16), "w3": (30, 192), "b3": (30,), "w4": (10, 30), "b4": (10,)}
FAST_KEYS = tuple(FAST_SHAPES)
ENGINE_ORDER = ("w2", "w3", "b1", "b2", "w1", "w4", "b3", "b4")  # net.h: W2 = 0, W3 = 2400, ...
N_PARAMS = 9760


def _fast_offsets() -> dict:
    sizes = [int(np.prod(FAST_SHAPES[k])) for k in FAST_KEYS]
    return dict(zip(FAST_KEYS, np.cumsum([0, *sizes[:-1]])))


def _pack() -> tuple[np.ndarray, dict]:
    start = _fast_offsets()
    blocks = []
    for key in ENGINE_ORDER:
        index = start[key] + np.arange(np.prod(FAST_SHAPES[key])).reshape(FAST_SHAPES[key])
        if key == "w2":  # fastnet's w2[out map, (k, in map)] -> [group, k, j, o], in map = H2_GROUPS[group][j]
            by_input = index.reshape(12, 25, 12)
            index = np.stack([by_input[4 * g : 4 * g + 4][:, :, list(maps)].transpose(1, 2, 0) for g, maps in enumerate(H2_GROUPS)])
        blocks.append(index.ravel())
    offsets = dict(zip(ENGINE_ORDER, np.cumsum([0, *[len(b) for b in blocks[:-1]]]).tolist()))
    return np.concatenate(blocks).astype(np.int32), offsets


PACK, OFFSETS = _pack()  # OFFSETS: where each block starts, as net.h's constants
N_FAST = sum(int(np.prod(s)) for s in FAST_SHAPES.values())
UNPACK = np.full(N_FAST, N_PARAMS, np.int32)
UNPACK[PACK] = np.arange(N_PARAMS, dtype=np.int32)


def pack(fast: dict):
    """fastnet's parameter dict (or an optimizer moment over it) -> the engine's flat (9760,) vector."""
    return jnp.concatenate([fast[k].reshape(-1) for k in FAST_KEYS])[PACK]


def unpack(flat) -> dict:
    """The inverse of pack; H2's unconnected weights come back as exact zeros."""
    full = jnp.concatenate([flat, jnp.zeros((1,), flat.dtype)])[UNPACK]
    offsets = _fast_offsets()
    return {k: full[offsets[k] : offsets[k] + int(np.prod(s))].reshape(s) for k, s in FAST_SHAPES.items()}
