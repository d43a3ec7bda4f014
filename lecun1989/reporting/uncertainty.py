"""The uncertainty of a paired comparison of two rows: the t interval of the mean paired difference,
the sign test over the paired runs and McNemar's exact test over the test digits (docs/statistics.md)."""

import math

import numpy as np
from scipy.special import stdtrit

CONFIDENCE = 0.95


def t_quantile(df: int, confidence: float = CONFIDENCE) -> float:
    """The two-sided quantile t_{(1 + confidence) / 2, df} of Student's t (t_{0.975, 8} = 2.306)."""
    if df < 1:
        raise ValueError(f"a t quantile needs at least 1 degree of freedom, got {df}")
    return float(stdtrit(df, (1 + confidence) / 2))


def t_interval(diffs, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """mean +- t_{0.975, n-1} sd / sqrt(n) of the differences (n >= 2)."""
    diffs = np.asarray(diffs, np.float64)
    if diffs.size < 2:
        raise ValueError(f"an interval needs at least 2 paired runs, got {diffs.size}")
    half = t_quantile(diffs.size - 1, confidence) * diffs.std(ddof=1) / math.sqrt(diffs.size)
    return float(diffs.mean() - half), float(diffs.mean() + half)


def binomial_two_sided(k: int, n: int) -> float:
    """Exact two-sided p-value of k successes in n fair coin flips: 2 P(X <= min(k, n-k)), at most 1,
    summed in integers (exact up to the final division)."""
    if not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    tail = sum(math.comb(n, i) for i in range(min(k, n - k) + 1))
    return min(1.0, 2 * tail / 2**n)


def sign_test(diffs) -> dict:
    """Two-sided exact sign test of the paired differences against zero; ties (a difference of exactly
    zero: the same miss count) are dropped. n_below, n_above, n_ties and p."""
    diffs = np.asarray(diffs, np.float64)
    below, above = int((diffs < 0).sum()), int((diffs > 0).sum())
    return {
        "n_below_zero": below,
        "n_above_zero": above,
        "n_ties": int(diffs.size - below - above),
        "p": binomial_two_sided(below, below + above),
    }


def mcnemar(wrong: list[list[int]], base_wrong: list[list[int]]) -> dict:
    """McNemar's exact test pooled over the paired runs: each run's misread test digits (indices) and
    its baseline partner's, the same digits in the same order. A discordant digit is one that exactly
    one of the two networks misreads; under the null each is equally likely to go either way, and the
    test is the two-sided exact binomial on all runs' discordant digits together."""
    only_variant = sum(len(set(w) - set(b)) for w, b in zip(wrong, base_wrong))
    only_base = sum(len(set(b) - set(w)) for w, b in zip(wrong, base_wrong))
    return {
        "only_variant_wrong": only_variant,
        "only_baseline_wrong": only_base,
        "p": binomial_two_sided(only_variant, only_variant + only_base),
    }
