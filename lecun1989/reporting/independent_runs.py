"""Do the table's claims hold on independent runs? Each pair's reading (lower, higher, no detectable
difference; lecun1989/reporting/reading.py) from this checkout's metrics/per_run/, next to the same
reading from a second metrics folder whose runs used other draws and other seeds (docs/statistics.md
gives the experiment that makes one). Writes docs/independent-runs.md:

    python -m lecun1989.reporting.independent_runs OTHER_METRICS_DIR [--metrics metrics] [--out docs/independent-runs.md]

The first folder must hold per_run/<variant>.json for every variant of params.yaml; the second holds
them for the rows it retrains, and each pair whose two rows it holds is checked (the page names the
others). The second folder must hold at least one pair and share no draw and no seed with the first:
otherwise it is refused before anything is written. The report stage writes the same verdicts into the
README's reading (lecun1989/reporting/reading.py, from metrics/independent/per_run/).
"""

import argparse
from pathlib import Path

from lecun1989.pipeline.atomic import write_bytes
from lecun1989.pipeline.errors import DataError, run_stage
from lecun1989.pipeline.schema import load_params
from lecun1989.reporting import reading
from lecun1989.reporting.blocks import markers
from lecun1989.reporting.statistics import paired_all, read_per_run

BLOCK = "independent-runs"


def load_runs(metrics_dir: Path, variants, every: bool = True) -> dict[str, dict]:
    """{variant: its per-run file}; every: each variant must have one (else those present)."""
    runs = {}
    for name in variants:
        path = metrics_dir / "per_run" / f"{name}.json"
        if path.is_file():
            runs[name] = read_per_run(path, name, columns=("test.error_pct",))  # all that a paired comparison reads
        elif every:
            raise DataError(f"{path} is missing: give a metrics folder of a full run (it holds per_run/<variant>.json)")
    return runs


def shared(runs: dict[str, dict], other: dict[str, dict], field: str) -> list[int]:
    """The draws (or seeds) that appear in both folders' runs."""
    values = lambda rs: {r[field] for per_run in rs.values() for r in per_run["runs"]}
    return sorted(values(runs) & values(other))


def claims(paired: dict, other_paired: dict) -> list[dict]:
    """One row per pair of paired that other_paired holds too."""
    out = []
    for key, entry in paired.items():
        if key in other_paired:
            there = other_paired[key]
            out.append(
                {"pair": key, "here": reading.sentence(entry), "there": reading.sentence(there), "holds": reading.holds(entry, there)}
            )
    return out


def document(rows: list[dict], here: Path, there: Path, draws: tuple, seeds: tuple, left: tuple = ()) -> str:
    start, end = markers(BLOCK)
    lines = [
        "# Independent runs",
        "",
        "Each claim of the results table (its reading, from the runs of the first folder) next to the",
        "same reading from runs on other draws and other seeds (the second folder). A claim holds when",
        "both say the same: lower, higher, or no detectable difference. Written by",
        "`python -m lecun1989.reporting.independent_runs` (docs/statistics.md); not edited by hand.",
        "",
        start,
        f"First folder: `{here}` (draws {', '.join(map(str, draws[0]))}; seeds {', '.join(map(str, seeds[0]))}). "
        f"Second folder: `{there}` (draws {', '.join(map(str, draws[1]))}; seeds {', '.join(map(str, seeds[1]))}).",
        "",
        "| pair | claim (first folder) | second folder | holds |",
        "|---|---|---|---|",
    ]
    lines += [f"| {r['pair']} | {r['here']} | {r['there']} | {'yes' if r['holds'] else '**no**'} |" for r in rows]
    held = sum(r["holds"] for r in rows)
    lines += ["", f"{held} of {len(rows)} claims hold."]
    if left:
        lines += ["", f"Not retried (the second folder lacks a row of the pair): {', '.join(left)}."]
    lines += [end, ""]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("other", type=Path, help="the second metrics folder (the experiment's metrics/)")
    parser.add_argument("--metrics", type=Path, default=Path("metrics"), help="the first metrics folder (default metrics)")
    parser.add_argument("--params", type=Path, default=Path("params.yaml"), help="variants and baselines (default params.yaml)")
    parser.add_argument("--out", type=Path, default=Path("docs/independent-runs.md"), help="output (default docs/independent-runs.md)")
    args = parser.parse_args(argv)

    params = load_params(args.params)
    runs, other = load_runs(args.metrics, params.variants), load_runs(args.other, params.variants, every=False)
    for field in ("draw", "seed"):
        both = shared(runs, other, field)
        if both:
            raise DataError(f"{args.metrics} and {args.other} share {field}s {both}: the second must be trained on other draws and seeds")
    paired, other_paired = paired_all(params, runs), paired_all(params, other)
    rows = claims(paired, other_paired)
    if not rows:
        missing = next(name for name in params.variants if name not in other)
        raise DataError(
            f"{args.other / 'per_run' / f'{missing}.json'} is missing: give a metrics folder of a full run (it holds per_run/<variant>.json)"
        )
    left = tuple(key for key in paired if key not in other_paired)
    spans = lambda field: tuple(sorted({r[field] for per_run in rs.values() for r in per_run["runs"]}) for rs in (runs, other))
    write_bytes(args.out, document(rows, args.metrics, args.other, spans("draw"), spans("seed"), left).encode())
    print(f"independent_runs: {sum(r['holds'] for r in rows)} of {len(rows)} claims hold -> {args.out}")


if __name__ == "__main__":
    run_stage(main)
