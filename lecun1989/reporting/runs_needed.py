"""How many paired runs each comparison needs for a 95 % interval of a given half-width, from the
paired std measured now (metrics/paired.json's std, over metrics/per_run/): the smallest n with
t_{0.975, n-1} std / sqrt(n) <= the target, and the smallest draws x seeds with at least n runs.
The report stage writes the table into docs/statistics.md; `python -m lecun1989.reporting.runs_needed`
prints it. A plan, not a promise: the std of a few pairs is itself uncertain (docs/statistics.md)."""

import math

from lecun1989.reporting import uncertainty

# 95 % half-width targets (points of test error) by the dataset of the compared variant.
TARGET_HALF_WIDTH = {"zip1989": 0.25, "mnist50k": 0.40}
MAX_RUNS = 64 * 64  # params.yaml's limits: 64 draws of a dataset, 64 seeds of a variant


def half_width(std: float, n: int) -> float:
    return uncertainty.t_quantile(n - 1) * std / math.sqrt(n)


def runs_for(std: float, target: float) -> int | None:
    """The smallest n >= 2 whose interval's half-width is at most target (None: more than MAX_RUNS)."""
    return next((n for n in range(2, MAX_RUNS + 1) if half_width(std, n) <= target), None)


def draws_by_seeds(n: int) -> tuple[int, int]:
    """The fewest runs (draws x seeds) that are at least n; of those the most even split, draws >= seeds
    (the draw moves a row as much as the seed does: both get sampled)."""
    best = None
    for seeds in range(1, math.isqrt(n) + 2):
        draws = max(seeds, -(-n // seeds))
        if best is None or draws * seeds < best[0] * best[1] or (draws * seeds == best[0] * best[1] and draws - seeds < best[0] - best[1]):
            best = (draws, seeds)
    return best


def table(params, paired: dict) -> str:
    rows = [
        "| pair | dataset | paired std, points | pairs | 95 % half-width now | target | runs needed | smallest draws × seeds |",
        "|---|---|---|---|---|---|---|---|",
    ]
    most = {}  # dataset -> the most runs one of its pairs needs
    for key, entry in paired.items():
        dataset = params.variants[key.split("-", 1)[0]].dataset
        target = TARGET_HALF_WIDTH.get(dataset)
        now = f"{half_width(entry['std'], entry['n_pairs']):.2f}" if entry["n_pairs"] >= 2 else "—"
        need = None if target is None else runs_for(entry["std"], target)
        split = "—" if need is None else "{} × {}".format(*draws_by_seeds(need))
        rows.append(
            f"| {key} | {dataset} | {entry['std']:.2f} | {entry['n_pairs']} | {now} | "
            f"{'—' if target is None else f'≤ {target:.2f}'} | {need or '—'} | {split} |"
        )
        if need is not None:
            most[dataset] = max(most.get(dataset, 0), need)
    rows.append("")
    for dataset, need in most.items():
        rows.append(
            f"- {dataset}: every pair of its rows within ± {TARGET_HALF_WIDTH[dataset]:.2f} points needs {need} paired runs, "
            "at least (draws × seeds) {} × {}.".format(*draws_by_seeds(need))
        )
    return "\n".join(rows)


def main(argv=None):
    from pathlib import Path

    from lecun1989.reporting.statistics import compute

    params, _, paired = compute(Path("."))
    print(table(params, paired))


if __name__ == "__main__":
    from lecun1989.pipeline.errors import run_stage

    run_stage(main)
