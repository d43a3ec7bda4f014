"""Scores of a set of network outputs: loss, exact miss counts and error rates."""

import numpy as np


def misses(outputs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Exact integer count of wrong top-1 predictions; outputs (..., n, 10) -> (...)."""
    return (np.argmax(outputs, axis=-1) != labels).sum(axis=-1).astype(np.int64)


def error_pct(n_missed, n: int):
    return 100.0 * np.asarray(n_missed) / n


def spread(values) -> dict:
    """mean, sample std (0 for one value), min and max of per-seed values."""
    values = np.asarray(values, np.float64)
    std = float(values.std(ddof=1)) if values.size > 1 else 0.0
    return {"mean": float(values.mean()), "std": std, "min": float(values.min()), "max": float(values.max())}
