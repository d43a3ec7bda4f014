"""Which test digits each run misreads: the per-digit correctness that McNemar's test pairs."""

import numpy as np

from lecun1989.evaluation.scoring import predictions


def misread_indices(outputs, labels) -> list[list[int]]:
    """Stacked runs' outputs (runs, n, 10) and labels (runs, n) -> for each run the sorted positions
    (0..n-1 in its draw's test split) of the digits its top-1 prediction gets wrong."""
    wrong = predictions(np.asarray(outputs)) != np.asarray(labels)
    return [np.flatnonzero(row).tolist() for row in wrong]
