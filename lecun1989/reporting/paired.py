"""One paired comparison of a variant with its baseline, over the (draw, seed) runs both have: the
differences' statistics (scoring.paired), their 95 % t interval, the sign test over the runs and,
where both per-run files list each run's misread test digits, McNemar's exact test over the digits.
Differences are the variant's test error % minus the baseline's, in points."""

import numpy as np

from lecun1989.evaluation import scoring
from lecun1989.pipeline.errors import DataError
from lecun1989.reporting import uncertainty

MISREAD = "misread"  # the evaluate stage's per-run list of misread test digits (metrics/per_run/<v>.json, test)


def run_keys(per_run: dict) -> list[tuple[int, int]]:
    return [(r["draw"], r["seed"]) for r in per_run["runs"]]


def matched(per_run: dict, base: dict) -> list[tuple[int, int]]:
    """(index in per_run, index in base) of every (draw, seed) run both have, in per_run's order."""
    where = {key: j for j, key in enumerate(run_keys(base))}
    return [(i, where[key]) for i, key in enumerate(run_keys(per_run)) if key in where]


def has_misread(name: str, per_run: dict) -> bool:
    """Whether the per-run file lists each run's misread test digits, consistent with its miss counts."""
    test = per_run["test"]
    if MISREAD not in test:
        return False
    if [len(m) for m in test[MISREAD]] != test["misses"]:
        raise DataError(f"metrics/per_run/{name}.json: test.misread disagrees with test.misses: rerun evaluate@{name}")
    return True


def compare(runs: dict[str, dict], name: str, base_name: str) -> dict:
    """paired.json's entry for name minus base_name; runs: {variant: its metrics/per_run/<v>.json}."""
    per_run, base = runs[name], runs[base_name]
    out = scoring.paired(run_keys(per_run), per_run["test"]["error_pct"], run_keys(base), base["test"]["error_pct"])
    pairs = matched(per_run, base)
    diffs = np.array([per_run["test"]["error_pct"][i] - base["test"]["error_pct"][j] for i, j in pairs])
    if len(pairs) >= 2:
        out["ci95_low"], out["ci95_high"] = uncertainty.t_interval(diffs)
        out["t_quantile"] = uncertainty.t_quantile(len(pairs) - 1)
    sign = uncertainty.sign_test(diffs)
    out.update({k: v for k, v in sign.items() if k != "p"}, sign_test_p=sign["p"])
    if has_misread(name, per_run) and has_misread(base_name, base):
        wrong, base_wrong = per_run["test"][MISREAD], base["test"][MISREAD]
        out["mcnemar"] = uncertainty.mcnemar([wrong[i] for i, _ in pairs], [base_wrong[j] for _, j in pairs])
    return out
