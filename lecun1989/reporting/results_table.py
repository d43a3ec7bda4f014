"""The report stage: the results table and the paired comparisons, from metrics/per_run/ (never
typed by hand). Run from the repository root (dvc.yaml's `report` stage does):

    python -m lecun1989.reporting.results_table            # print the table
    python -m lecun1989.reporting.results_table --write    # write metrics/paired.json, metrics/results.md,
                                                           # the summary, table and reading in README.md,
                                                           # the runs-needed table in docs/statistics.md
                                                           # and the published figures in docs/anchors.md
    python -m lecun1989.reporting.results_table --check    # exit 1 if any of them is stale

A row's numbers are over all its runs (subset draws x seeds). The paired difference compares a variant
with its baseline (params: variants.<name>.baseline, default the row before) run by run, over the
(draw, seed) runs both have: same test digits, same initialisation seed. metrics/paired.json holds,
under "<variant>-<baseline>", n_pairs and the mean, std, standard error (sem), min and max of the
differences in test error %, their 95 % t interval (ci95_low, ci95_high, t_quantile), the sign test
over the runs (n_below_zero, n_above_zero, n_ties, sign_test_p: two-sided, exact, ties dropped) and,
where both per-run files list their misread test digits, McNemar's exact test pooled over the runs
(mcnemar: only_variant_wrong, only_baseline_wrong, p); without them it is skipped, said in one line on
stderr. docs/statistics.md says what each one means.

The reading says, for every pair whose two rows have per-run files in metrics/independent/per_run/
(runs on other draws and seeds, docs/statistics.md), whether its claim held there, and how many did.
The summary above the table places the 1989 row (`lecun1989`, and `lecun1989_usps` where params.yaml
has it) against the paper's and the other reproductions' single runs.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from lecun1989.evaluation import scoring
from lecun1989.pipeline.atomic import staged, write_bytes
from lecun1989.pipeline.errors import DataError, run_stage
from lecun1989.reporting import anchors, reading, runs_needed
from lecun1989.reporting.anchors import ANCHORS
from lecun1989.reporting.blocks import replaced
from lecun1989.reporting.paired import has_misread, run_keys
from lecun1989.reporting.statistics import compute, independent_paired

PAIRED, TABLE, README, STATISTICS = Path("metrics/paired.json"), Path("metrics/results.md"), Path("README.md"), Path("docs/statistics.md")
# The generated blocks of hand-written files, each between <!-- NAME:start --> and <!-- NAME:end -->.
RESULTS_SUMMARY, RESULTS_TABLE, RESULTS_READING, RUNS_NEEDED = "results-summary", "results-table", "results-reading", "runs-needed"
BLOCKS = {README: (RESULTS_SUMMARY, RESULTS_TABLE, RESULTS_READING), STATISTICS: (RUNS_NEEDED,), anchors.PAGE: anchors.BLOCKS}
# The rows of the 1989 recipe that the summary places against the published single runs, with the
# digits they are on; a row params.yaml lacks is left out.
SUMMARY_ROWS = {
    "lecun1989": ("on MNIST, the 1989 network trained as the public reproductions train it", "on its own, harder zip-code digits"),
    "lecun1989_usps": ("on the paper's own USPS digits, resplit, the same recipe", "on its own, harder test split"),
}

# How each database's test digits are drawn, for the reading of its pairs.
SPLIT_NOTE = {"resplit": "USPS resplits", "paper": "USPS, the paper's split"}


def place(value: float, low: float, high: float) -> str:
    """Where a single published run falls against a row's runs."""
    if value < low:
        return "below every run"
    if value > high:
        return "above every run"
    return "within the range of the runs"


def summary(params, runs: dict[str, dict]) -> str:
    """One sentence: each row of SUMMARY_ROWS that params has, mean ± std (min–max) of its test error
    over its runs, and where the paper's and the reproductions' single runs (ANCHORS) fall against them."""
    labels = {"paper": "the paper's", "seed": "the seed notebook's", "karpathy": "karpathy's"}
    parts = []
    for name, (digits, papers) in SUMMARY_ROWS.items():
        if name not in params.variants:
            continue
        test = runs[name]["test"]["error_pct"]
        s = scoring.spread(test)
        published = ANCHORS.get(name) or {"paper": ANCHORS["lecun1989"]["paper"]}
        placed = {}
        for source, value in published.items():
            figure = value.split()[0]
            note = f" ({papers})" if source == "paper" and papers else ""
            placed.setdefault(place(float(figure), s["min"], s["max"]), []).append(f"{labels[source]} {figure} %{note}")
        where = ", ".join(f"{' and '.join(figures)} {'lie' if len(figures) > 1 else 'lies'} {side}" for side, figures in placed.items())
        parts.append(
            f"{digits} (`{name}`) misreads "
            f"{s['mean']:.2f} ± {s['std']:.2f} % of the test digits over {len(test)} runs ({s['min']:.2f}–{s['max']:.2f} %): {where}"
        )
    return ("What the table finds: " + "; and ".join(parts) + ".") if parts else ""


def mcnemar_skipped(runs: dict[str, dict]) -> str | None:
    """One line naming the per-run files without misread digits (McNemar skipped), or None."""
    lacking = [name for name, r in runs.items() if not has_misread(name, r)]
    if lacking:
        return f"report: McNemar's test skipped: no test.misread in metrics/per_run/ of {', '.join(lacking)} (rerun their evaluate stages)"
    return None


def fmt_p(p: float) -> str:
    return f"{p:.2g}"


def fmt_spread(values) -> str:
    s = scoring.spread(values)
    return f"{s['mean']:.2f} ± {s['std']:.2f} ({s['min']:.2f}–{s['max']:.2f})"


def mean_or_dash(r: dict, split: str, quantity: str, fmt: str) -> str:
    return format(np.mean(r[split][quantity]), fmt) if split in r else "—"


COLUMNS = (
    "variant", "database", "train digits", "epochs", "runs (draws × seeds)", "test error % mean ± std (min–max)", "per-draw means",
    "paired Δ test error vs baseline, points (mean ± std)", "paired Δ 95 % CI", "p: sign test, McNemar", "train error %", "val error %",
    "rejected for 1% test error, %", "MSE train / test", "paper 1989", "seed notebook", "karpathy",
)  # fmt: skip
README_LEAVES_OUT = ("per-draw means", "p: sign test, McNemar")  # in metrics/results.md, the full table


def table(params, runs: dict[str, dict], paired: dict, leave_out=()) -> str:
    columns = [c for c in COLUMNS if c not in leave_out]
    rows = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for name, v in params.variants.items():
        r, ds = runs[name], params.datasets[v.dataset]
        test = r["test"]["error_pct"]
        draw_means = scoring.by_draw(test, [d for d, _ in run_keys(r)]).values()
        base = params.baseline_of(name)
        p = paired.get(f"{name}-{base}")
        anchor = ANCHORS.get(name, {})
        reject = scoring.spread(r["test"]["reject_for_1pct_error"])
        cells = dict(
            zip(
                COLUMNS,
                (
                    name,
                    ds.database.upper(),
                    f"{ds.n_train:,}",
                    str(v.epochs),
                    f"{len(test)} ({len(ds.draws)} × {v.n_seeds})",
                    fmt_spread(test),
                    f"{min(draw_means):.2f}–{max(draw_means):.2f}",
                    "—" if p is None else f"{p['mean']:+.2f} ± {p['std']:.2f} vs {base} ({p['n_pairs']} pairs)",
                    "—" if p is None or "ci95_low" not in p else f"{p['ci95_low']:+.2f} to {p['ci95_high']:+.2f}",
                    "—" if p is None else f"{fmt_p(p['sign_test_p'])}, " + (fmt_p(p["mcnemar"]["p"]) if "mcnemar" in p else "—"),
                    mean_or_dash(r, "train", "error_pct", ".2f"),
                    mean_or_dash(r, "val", "error_pct", ".2f"),
                    f"{reject['mean']:.1f} ± {reject['std']:.1f}",
                    f"{mean_or_dash(r, 'train', 'loss', '.1e')} / {mean_or_dash(r, 'test', 'loss', '.1e')}" if v.loss == "mse" else "—",
                    anchor.get("paper", "—"),
                    anchor.get("seed", "—"),
                    anchor.get("karpathy", "—"),
                ),
            )
        )
        rows.append("| " + " | ".join(cells[c] for c in columns) + " |")
    return "\n".join(rows)


def split_notes(params) -> dict[str, str]:
    """{"<variant>-<baseline>": how the test digits were drawn} for the pairs not on MNIST."""
    notes = {}
    for name, v in params.variants.items():
        ds = params.datasets[v.dataset]
        if params.baseline_of(name) and ds.database == "usps":
            notes[f"{name}-{params.baseline_of(name)}"] = SPLIT_NOTE[ds.split]
    return notes


def outputs(root: Path) -> dict[Path, str]:
    """{path: text} of everything the report writes."""
    params, runs, paired = compute(root)
    independent = independent_paired(root, params)
    blocks = {
        RESULTS_SUMMARY: summary(params, runs),
        RESULTS_TABLE: table(params, runs, paired, leave_out=README_LEAVES_OUT),
        RESULTS_READING: reading.block(paired, independent, link=reading.INDEPENDENT_PAGE, notes=split_notes(params)),
        RUNS_NEEDED: runs_needed.table(params, paired),
        **anchors.blocks(),
    }
    in_metrics = reading.block(paired, independent, link=f"../{reading.INDEPENDENT_PAGE}", notes=split_notes(params))
    paired_text = json.dumps(paired, indent=2, allow_nan=False) + "\n"
    full = table(params, runs, paired)
    out = {PAIRED: paired_text, TABLE: f"{blocks[RESULTS_SUMMARY]}\n\n{full}\n\n{in_metrics}\n"}
    for path, names in BLOCKS.items():
        if not (root / path).is_file():
            raise DataError(f"{root / path} is missing: restore it (git checkout -- {path})")
        text = (root / path).read_text()
        for name in names:
            text = replaced(text, name, blocks[name], path)
        out[path] = text
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--write",
        action="store_true",
        help="write metrics/paired.json, metrics/results.md and the generated blocks of README.md, docs/statistics.md and docs/anchors.md",
    )
    group.add_argument("--check", action="store_true", help="exit 1 if any of them differs from what metrics/ gives")
    parser.add_argument("--root", type=Path, default=Path("."), help="the repository (default: the current folder)")
    args = parser.parse_args(argv)

    new = outputs(args.root)
    skipped = mcnemar_skipped(compute(args.root)[1])
    if skipped:
        print(skipped, file=sys.stderr)
    if args.write:  # every file replaced together, or none (a full disk half-way replaces none)
        with staged(files=[args.root / path for path in new]) as scratch:
            for path, text in new.items():
                write_bytes(scratch[args.root / path], text.encode())
    elif args.check:
        stale = [str(p) for p, text in new.items() if not (args.root / p).is_file() or (args.root / p).read_text() != text]
        if stale:
            sys.exit(f"stale: {', '.join(stale)}: run `dvc repro report` (or make results) and commit them")
    else:
        print(new[TABLE], end="")


if __name__ == "__main__":
    run_stage(main)
