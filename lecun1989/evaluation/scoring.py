"""Scores of a set of network outputs: loss, exact miss counts and error rates.

Every number here is computed from the outputs by a fixed sequence of IEEE-754 operations, so that
outputs with the same bits give the same numbers on any machine: float64 sums over the 10 outputs
taken column by column, correctly rounded sums over digits (math.fsum), error % from the integer
miss counts. A loss is written with SIGNIFICANT digits: float64's exp and log may differ in the last
bit between CPUs (numpy picks their implementation at run time), far below that rounding."""

import math

import numpy as np

SIGNIFICANT = 7  # digits of a written loss: float32 outputs carry about as many


def rounded(x: float, digits: int = SIGNIFICANT) -> float:
    return float(f"{x:.{digits}g}")


def _columns_sum(a: np.ndarray) -> np.ndarray:
    """a (..., 10) summed over its last axis left to right, one column at a time."""
    total = a[..., 0].copy()
    for j in range(1, a.shape[-1]):
        total += a[..., j]
    return total


def digit_losses(outputs: np.ndarray, labels: np.ndarray, loss: str) -> np.ndarray:
    """Per digit, in float64: mse (mean of the 10 squared errors against +1/-1 targets, the 1989 loss)
    or softmax_xent (log-sum-exp of the outputs minus the true class's output). The numpy path of
    training/losses.py's LOSSES, their definition, in a fixed order of operations."""
    o = np.asarray(outputs, np.float64)
    labels = np.asarray(labels)
    if loss == "mse":
        targets = np.where(np.arange(10) == labels[..., None], 1.0, -1.0)
        return _columns_sum((o - targets) ** 2) / 10.0
    top = o.max(axis=-1)
    true = np.take_along_axis(o, labels[..., None].astype(np.int64), axis=-1)[..., 0]
    return top + np.log(_columns_sum(np.exp(o - top[..., None]))) - true


def mean_loss(outputs: np.ndarray, labels: np.ndarray, loss: str) -> np.ndarray:
    """(runs, n, 10) outputs -> (runs,) mean loss over the digits, rounded to SIGNIFICANT digits."""
    per_digit = digit_losses(outputs, labels, loss)
    return np.array([rounded(math.fsum(run) / len(run)) for run in per_digit])


def misses(outputs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Exact integer count of wrong top-1 predictions; outputs (..., n, 10) -> (...)."""
    return (np.argmax(outputs, axis=-1) != labels).sum(axis=-1).astype(np.int64)


def error_pct(n_missed, n: int):
    return 100.0 * np.asarray(n_missed) / n


def score(outputs: np.ndarray, labels: np.ndarray, loss: str) -> dict:
    """Per run: the outputs (runs, n, 10), the variant's loss (mse or softmax_xent: its mean over the
    digits), exact misses and error % against labels (runs, n)."""
    missed = misses(outputs, labels)
    return {
        "outputs": outputs,
        "loss": mean_loss(outputs, labels, loss),
        "misses": missed,
        "error": error_pct(missed, labels.shape[1]),
    }


def stack_runs(scores: list[dict]) -> dict:
    """score's dicts of one run each -> the dict score gives for all the runs at once (every value is per run)."""
    return {key: np.concatenate([s[key] for s in scores]) for key in scores[0]}


def spread(values) -> dict:
    """mean, sample std (0 for one value), min and max of per-run values, rounded to SIGNIFICANT digits."""
    values = np.asarray(values, np.float64)
    mean = math.fsum(values) / values.size
    std = math.sqrt(math.fsum((values - mean) ** 2) / (values.size - 1)) if values.size > 1 else 0.0
    return {"mean": rounded(mean), "std": rounded(std), "min": float(values.min()), "max": float(values.max())}


def predictions(outputs: np.ndarray) -> np.ndarray:
    return np.argmax(outputs, axis=-1)


def margins(outputs: np.ndarray) -> np.ndarray:
    """Confidence margin of each digit: top-1 minus top-2 output (tanh outputs or logits alike)."""
    top2 = np.sort(np.asarray(outputs, np.float64), axis=-1)[..., -2:]
    return top2[..., 1] - top2[..., 0]


def kept_errors(outputs: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One network's outputs (n, 10): after rejecting the k digits of lowest margin, for k = 0..n,
    the wrong predictions among the kept digits and the number kept; both (n + 1,) integers.
    Ties in margin are broken by position in the test set (stable sort)."""
    labels = np.asarray(labels)
    n = labels.shape[0]
    order = np.argsort(margins(outputs), kind="stable")
    wrong = (predictions(outputs) != labels)[order].astype(np.int64)
    wrong_kept = wrong.sum() - np.concatenate([[0], np.cumsum(wrong)])
    return wrong_kept, n - np.arange(n + 1)


def reject_pct(outputs: np.ndarray, labels: np.ndarray, max_error_pct: float = 1.0):
    """The paper's operating point: the smallest share (%) of test digits that must be rejected,
    lowest margin first, for the error on the digits kept to be at most max_error_pct; outputs (n, 10)."""
    wrong_kept, n_kept = kept_errors(outputs, labels)
    ok = 100 * wrong_kept <= max_error_pct * n_kept  # integer counts: exact, no rounding
    return 100.0 * int(np.argmax(ok)) / len(labels)  # ok[-1] holds: nothing kept, nothing wrong


def error_at_reject(outputs: np.ndarray, labels: np.ndarray, reject_grid_pct) -> np.ndarray:
    """Error % on the kept digits at each rejected share of reject_grid_pct (rounded to whole
    digits); outputs (n, 10) -> (len(grid),)."""
    wrong_kept, n_kept = kept_errors(outputs, labels)
    n = len(labels)
    k = np.clip(np.rint(np.asarray(reject_grid_pct, np.float64) * n / 100).astype(np.int64), 0, n - 1)
    return 100.0 * wrong_kept[k] / n_kept[k]


def by_draw(values, draws: list[int]) -> dict[str, float]:
    """Mean of the per-run `values` of each draw, {"draw_<draw>": mean}, draws in first-seen order."""
    values = np.asarray(values, np.float64)
    draws = np.asarray(draws)
    return {f"draw_{d}": rounded(math.fsum(values[draws == d]) / int((draws == d).sum())) for d in dict.fromkeys(draws.tolist())}


def paired(runs: list[tuple[int, int]], values, base_runs: list[tuple[int, int]], base_values) -> dict:
    """Differences values - base_values over the (draw, seed) runs both have: the paired comparison
    of two variants (same draw: the same test digits; same seed: the same initialisation and data
    stream). Returns n_pairs, mean, sample std, standard error of the mean, min and max."""
    base = dict(zip(map(tuple, base_runs), base_values))
    diffs = np.array([v - base[tuple(r)] for r, v in zip(runs, values) if tuple(r) in base], np.float64)
    if diffs.size == 0:
        raise ValueError("no (draw, seed) run in common: nothing to pair")
    stats = spread(diffs)
    return {"n_pairs": int(diffs.size), **stats, "sem": stats["std"] / float(np.sqrt(diffs.size))}
