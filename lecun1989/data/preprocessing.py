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


def to_16x16(images: np.ndarray, antialias: bool) -> np.ndarray:
    """uint8 (n, 28, 28) -> float32 (n, 16, 16) in [-1, 1], bilinear, all digits in one call."""
    import jax  # imported here: the rest of the stage needs no JAX

    x = images.astype(np.float32) / 127.5 - 1.0
    out = jax.image.resize(x, (x.shape[0], 16, 16), "bilinear", antialias=antialias)
    return np.clip(np.asarray(out, np.float32), -1.0, 1.0)
