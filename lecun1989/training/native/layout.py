"""The native engine's flat parameter order, as an index table into fastnet's layout.

fastnet's parameters (and the optimizer state over them) are flattened in FAST_KEYS order and a zero
appended; the engine's parameter i is that vector's element PACK[i]. Its order (net.h's offsets)
keeps H2's connected weights only, per group of 4 output maps as (25 kernel offsets, 8 input maps, 4
output maps), and pads the rows of w1 (25) and w4 (30), b3 and b4 with zeros to whole vectors of
8 (PACK points those at the appended zero). UNPACK is the inverse, with H2's unconnected weights read
from a zero appended to the engine's vector.
"""

import jax.numpy as jnp
import numpy as np

from lecun1989.network.model import H2_GROUPS

FAST_SHAPES = {"w1": (12, 25), "b1": (12, 64), "w2": (12, 300), "b2": (12, 16), "w3": (30, 192), "b3": (30,), "w4": (10, 30), "b4": (10,)}
FAST_KEYS = tuple(FAST_SHAPES)
ENGINE_ORDER = ("w2", "w3", "b1", "b2", "w4", "b4", "b3", "w1")
PADDED = {"w4": (10, 32), "b4": (16,), "b3": (32,), "w1": (12, 32)}
N_FAST = sum(int(np.prod(s)) for s in FAST_SHAPES.values())
N_PARAMS = 9872  # net.h: 9,760 parameters and 112 zeros of padding


def _fast_offsets() -> dict:
    sizes = [int(np.prod(FAST_SHAPES[k])) for k in FAST_KEYS]
    return dict(zip(FAST_KEYS, np.cumsum([0, *sizes[:-1]]).tolist()))


def _block(key: str, start: int) -> np.ndarray:
    index = start + np.arange(np.prod(FAST_SHAPES[key])).reshape(FAST_SHAPES[key])
    if key == "w2":  # fastnet's w2[out map, (k, in map)] -> [group, k, j, o], in map = H2_GROUPS[group][j]
        by_input = index.reshape(12, 25, 12)
        return np.stack([by_input[4 * g : 4 * g + 4][:, :, list(maps)].transpose(1, 2, 0) for g, maps in enumerate(H2_GROUPS)])
    if key in PADDED:
        padded = np.full(PADDED[key], N_FAST)
        padded[tuple(slice(0, n) for n in index.shape)] = index
        return padded
    return index


def _pack() -> tuple[np.ndarray, dict]:
    start = _fast_offsets()
    blocks = [_block(key, start[key]).ravel() for key in ENGINE_ORDER]
    offsets = dict(zip(ENGINE_ORDER, np.cumsum([0, *[len(b) for b in blocks[:-1]]]).tolist()))
    flat = np.concatenate(blocks)
    return np.concatenate([flat, np.full(N_PARAMS - len(flat), N_FAST)]).astype(np.int32), offsets


PACK, OFFSETS = _pack()  # OFFSETS: where each block starts, net.h's constants
UNPACK = np.full(N_FAST, N_PARAMS, np.int32)
UNPACK[PACK[PACK < N_FAST]] = np.flatnonzero(PACK < N_FAST).astype(np.int32)


def pack(fast: dict):
    """fastnet's parameter dict (or an optimizer moment over it) -> the engine's flat vector."""
    return jnp.concatenate([*[fast[k].reshape(-1) for k in FAST_KEYS], jnp.zeros((1,), jnp.float32)])[PACK]


def unpack(flat) -> dict:
    """The inverse of pack; H2's unconnected weights come back as exact zeros."""
    full = jnp.concatenate([flat, jnp.zeros((1,), flat.dtype)])[UNPACK]
    offsets = _fast_offsets()
    return {k: full[offsets[k] : offsets[k] + int(np.prod(s))].reshape(s) for k, s in FAST_SHAPES.items()}
