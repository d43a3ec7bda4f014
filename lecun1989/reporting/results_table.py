"""The report stage: the results table and the paired comparisons, from metrics/per_run/ (never
typed by hand). Run from the repository root (dvc.yaml's `report` stage does):

    python -m lecun1989.reporting.results_table            # print the table
    python -m lecun1989.reporting.results_table --write    # write metrics/paired.json, metrics/results.md
                                                           # and the table in README.md
    python -m lecun1989.reporting.results_table --check    # exit 1 if any of the three is stale

A row's numbers are over all its runs (subset draws x seeds). The paired difference compares a variant
with its baseline (params: variants.<name>.baseline, default the row before) run by run, over the
(draw, seed) runs both have: same test digits, same initialisation seed. metrics/paired.json holds,
under "<variant>-<baseline>", n_pairs and the mean, std, standard error (sem), min and max of the
differences in test error %.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from lecun1989.evaluation import scoring
from lecun1989.pipeline.atomic import write_bytes
from lecun1989.pipeline.errors import DataError, run_stage
from lecun1989.pipeline.params import load_params

START, END = "<!-- results-table:start -->", "<!-- results-table:end -->"
PAIRED, TABLE, README = Path("metrics/paired.json"), Path("metrics/results.md"), Path("README.md")

# Single-run test errors (%) published by the paper and the other reproductions (docs/anchors.md).
ANCHORS = {
    "lecun1989": {"paper": "5.00", "seed": "3.69", "karpathy": "4.09"},
    "change1_softmax": {"seed": "4.14", "karpathy": "4.38"},
    "change2_adamw": {"seed": "4.04", "karpathy": "3.59"},
    "change3_shift": {"seed": "2.59", "karpathy": "2.19"},
    "change4_relu_dropout": {"seed": "1.74", "karpathy": "1.59"},
    "lecun1989_50k": {"karpathy": "2.74 (blog)"},
    "change4_50k": {"karpathy": "1.25 (blog)"},
    "lecun1989_paper": {"paper": "5.00"},
}


def read_runs(root: Path, name: str) -> dict:
    path = root / "metrics" / "per_run" / f"{name}.json"
    if not path.is_file():
        raise DataError(f"{path} is missing: run the pipeline first (dvc repro)")
    try:
        runs = json.loads(path.read_text())
        n = len(run_keys(runs))
        columns = [runs[split]["error_pct"] for split in ("train", "val", "test")] + [runs["test"]["reject_for_1pct_error"]]
        if any(len(c) != n or not all(isinstance(v, int | float) for v in c) for c in columns):
            raise ValueError("a column of the wrong length or type")
    except (UnicodeDecodeError, ValueError, KeyError, TypeError):
        raise DataError(
            f"{path} is not a per-run file of the evaluate stage (unreadable, or a field missing or malformed): rerun dvc repro -f evaluate@{name}"
        ) from None
    return runs


def run_keys(per_run: dict) -> list[tuple[int, int]]:
    return [(r["draw"], r["seed"]) for r in per_run["runs"]]


def paired_all(params, runs: dict[str, dict]) -> dict:
    """{"<variant>-<baseline>": paired differences of test error %, variant minus baseline} for every
    variant that has a baseline (the key reads as the subtraction it holds)."""
    out = {}
    for name in params.variants:
        base = params.baseline_of(name)
        if base is None:
            continue
        try:
            out[f"{name}-{base}"] = scoring.paired(
                run_keys(runs[name]), runs[name]["test"]["error_pct"], run_keys(runs[base]), runs[base]["test"]["error_pct"]
            )
        except ValueError:
            raise DataError(
                f"metrics/per_run/{name}.json and metrics/per_run/{base}.json share no (draw, seed) run to pair: "
                f"rerun both evaluate stages after checking their params (dvc repro)"
            ) from None
    return out


def fmt_spread(values) -> str:
    s = scoring.spread(values)
    return f"{s['mean']:.2f} ± {s['std']:.2f} ({s['min']:.2f}–{s['max']:.2f})"


def table(params, runs: dict[str, dict], paired: dict) -> str:
    rows = [
        "| variant | train digits | epochs | runs (draws × seeds) | test error % mean ± std (min–max) | per-draw means | "
        "paired Δ test error vs baseline, points (mean ± std) | train error % | val error % | rejected for 1% test error, % "
        "| paper 1989 | seed notebook | karpathy |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, v in params.variants.items():
        r, ds = runs[name], params.datasets[v.dataset]
        test = r["test"]["error_pct"]
        draw_means = scoring.by_draw(test, [d for d, _ in run_keys(r)]).values()
        base = params.baseline_of(name)
        p = paired.get(f"{name}-{base}")
        delta = "—" if p is None else f"{p['mean']:+.2f} ± {p['std']:.2f} vs {base} ({p['n_pairs']} pairs)"
        anchor = ANCHORS.get(name, {})
        reject = scoring.spread(r["test"]["reject_for_1pct_error"])
        rows.append(
            f"| {name} | {ds.n_train:,} | {v.epochs} | {len(test)} ({len(ds.draws)} × {v.n_seeds}) | {fmt_spread(test)} "
            f"| {min(draw_means):.2f}–{max(draw_means):.2f} | {delta} "
            f"| {np.mean(r['train']['error_pct']):.2f} | {np.mean(r['val']['error_pct']):.2f} | {reject['mean']:.1f} ± {reject['std']:.1f} "
            f"| {anchor.get('paper', '—')} | {anchor.get('seed', '—')} | {anchor.get('karpathy', '—')} |"
        )
    return "\n".join(rows)


def replaced(readme: str, new_table: str) -> str:
    if START not in readme or END not in readme:
        raise DataError(f"README.md lacks the markers {START} ... {END}")
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{new_table}\n{END}{tail}"


def outputs(root: Path) -> dict[Path, str]:
    """{path: text} of everything the report writes, from params.yaml and metrics/per_run/."""
    params = load_params(root / "params.yaml")
    runs = {name: read_runs(root, name) for name in params.variants}
    paired = paired_all(params, runs)
    text = table(params, runs, paired)
    return {
        PAIRED: json.dumps(paired, indent=2) + "\n",
        TABLE: text + "\n",
        README: replaced((root / README).read_text(), text),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--write", action="store_true", help="write metrics/paired.json, metrics/results.md and README.md's table")
    group.add_argument("--check", action="store_true", help="exit 1 if any of them differs from what metrics/ gives")
    parser.add_argument("--root", type=Path, default=Path("."), help="the repository (default: the current folder)")
    args = parser.parse_args(argv)

    new = outputs(args.root)
    if args.write:
        for path, text in new.items():
            write_bytes(args.root / path, text.encode())
    elif args.check:
        stale = [str(p) for p, text in new.items() if not (args.root / p).is_file() or (args.root / p).read_text() != text]
        if stale:
            sys.exit(f"stale: {', '.join(stale)}: run `dvc repro report` (or make results) and commit them")
    else:
        print(new[TABLE], end="")


if __name__ == "__main__":
    run_stage(main)
