"""From the 70,000 MNIST digits to a prepared data set: which digits (a reproducible draw per split)
and how they are scaled and resized to 16x16.

A draw is an integer seed. Each split has a random stream of its own, seeded with (draw, split):
- train: the first n_train digits of a permutation of the 60,000 training digits, so the 7,291
  digits of a draw are the first 7,291 of its 50,000 (a larger set contains the smaller one);
- test: the first n_test of a permutation of the 10,000 test digits: the same digits for every
  training-set size of one draw;
- val: n_val digits chosen from the training digits NOT in this draw's training set (for 50,000,
  from the remaining 10,000), so validation and training digits are disjoint by construction.
"""

import numpy as np

N_TRAIN_AVAILABLE, N_TEST_AVAILABLE = 60000, 10000
SPLIT_STREAM = {"train": 0, "test": 1, "val": 2}


def _rng(draw: int, split: str) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64([draw, SPLIT_STREAM[split]]))


def draw_subset(n_available: int, n: int, seed: int, split: str) -> np.ndarray:
    """n distinct indices, from a stream of their own per split: the same digits every run."""
    return _rng(seed, split).permutation(n_available)[:n]


def draw_indices(draw: int, n_train: int, n_val: int, n_test: int) -> dict[str, np.ndarray]:
    """{"train", "val", "test"}: indices into MNIST's training (train, val) and test sets."""
    order = _rng(draw, "train").permutation(N_TRAIN_AVAILABLE)
    if n_train + n_val > N_TRAIN_AVAILABLE:
        raise ValueError(f"n_train + n_val = {n_train + n_val} > {N_TRAIN_AVAILABLE} MNIST training digits")
    rest = order[n_train:]
    return {
        "train": order[:n_train],
        "val": rest[_rng(draw, "val").permutation(len(rest))[:n_val]],
        "test": draw_subset(N_TEST_AVAILABLE, n_test, draw, "test"),
    }


SIZE_IN, SIZE_OUT = 28, 16
CHUNK = 4096  # digits resized at a time: the work arrays stay in the cache; the pixels do not depend on it


def resize_taps(n_in: int, n_out: int, antialias: bool) -> list[list[tuple[int, float]]]:
    """Per output pixel along one axis, its (input pixel, weight) pairs: the weights of
    jax.image.resize's "bilinear" (its scale_and_translate weight matrix), in Python float64. A
    triangle centred on the output pixel's centre, (j + 0.5) n_in / n_out - 0.5 in input pixels,
    widened by n_in / n_out when shrinking with antialias, normalised to sum to one."""
    inv_scale = n_in / n_out
    width = max(inv_scale, 1.0) if antialias else 1.0
    taps = []
    for j in range(n_out):
        centre = (j + 0.5) * inv_scale - 0.5
        weights = [(i, max(0.0, 1.0 - abs(centre - i) / width)) for i in range(n_in)]
        weights = [(i, w) for i, w in weights if w > 0.0]
        total = 0.0
        for _, w in weights:  # summed in order, not by a reduction whose order numpy chooses
            total += w
        taps.append([(i, w / total) for i, w in weights])
    return taps


def _resize_axis0(x: np.ndarray, taps) -> np.ndarray:
    """x (n_in, ...) -> (n_out, ...): each output row its taps' weighted input rows, added one after
    the other. Elementwise numpy float64 operations only (each one IEEE-754 rounding per element,
    whatever the CPU's vector width), no dot product or BLAS."""
    out = np.empty((len(taps), *x.shape[1:]))
    for j, pairs in enumerate(taps):
        (i, w), rest = pairs[0], pairs[1:]
        acc = x[i] * w
        for i, w in rest:
            acc += x[i] * w
        out[j] = acc
    return out


def to_16x16(images: np.ndarray, antialias: bool) -> np.ndarray:
    """uint8 (n, 28, 28) -> float32 (n, 16, 16) in [-1, 1], bilinear as jax.image.resize, with every
    pixel a fixed sequence of float64 operations rounded once to float32: the same bits on every
    machine (jax.image.resize contracts with dot products whose kernels XLA picks by CPU)."""
    taps = resize_taps(SIZE_IN, SIZE_OUT, antialias)
    out = np.empty((len(images), SIZE_OUT, SIZE_OUT), np.float32)
    for start in range(0, len(images), CHUNK):
        x = np.ascontiguousarray(images[start : start + CHUNK].transpose(1, 2, 0)) / 127.5 - 1.0  # (row, column, digit), float64
        rows = _resize_axis0(x, taps)  # (16, 28, digits)
        both = _resize_axis0(rows.transpose(1, 0, 2), taps)  # (16 columns, 16 rows, digits)
        out[start : start + CHUNK] = both.transpose(2, 1, 0)
    return np.clip(out, -1.0, 1.0)
