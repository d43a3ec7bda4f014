"""From the 70,000 MNIST digits to the 1989-sized set: which digits (a reproducible draw per split)
and how they are scaled and resized to 16x16."""

import numpy as np

SPLIT_STREAM = {"train": 0, "test": 1}


def draw_subset(n_available: int, n: int, seed: int, split: str) -> np.ndarray:
    """n distinct indices, from a stream of their own per split: the same digits every run."""
    rng = np.random.Generator(np.random.PCG64([seed, SPLIT_STREAM[split]]))
    return rng.permutation(n_available)[:n]


def to_16x16(images: np.ndarray, antialias: bool) -> np.ndarray:
    """uint8 (n, 28, 28) -> float32 (n, 16, 16) in [-1, 1], bilinear, all digits in one call."""
    import jax  # imported here: the rest of the stage needs no JAX

    x = images.astype(np.float32) / 127.5 - 1.0
    out = jax.image.resize(x, (x.shape[0], 16, 16), "bilinear", antialias=antialias)
    return np.clip(np.asarray(out, np.float32), -1.0, 1.0)
