"""The report's numbers, from the evaluate stage's per-run files: each file read and checked, and
the paired differences of every variant from its baseline (metrics/paired.json's content,
reporting/paired.py), here and on the independent runs of metrics/independent/per_run/."""

from pathlib import Path

from lecun1989.pipeline import readers
from lecun1989.pipeline.errors import DataError
from lecun1989.pipeline.schema import load_params
from lecun1989.reporting.paired import compare, matched, run_keys

# The per-run files of the same rows trained on other draws and seeds (docs/statistics.md).
INDEPENDENT = Path("metrics/independent/per_run")
# What the table reads of a per-run file: one value per run, each a finite number in its range.
COLUMNS = tuple(f"{split}.{key}" for split in ("train", "val", "test") for key in ("error_pct", "loss")) + ("test.reject_for_1pct_error",)


def check_per_run(runs: dict, columns=COLUMNS) -> None:
    """Every run's draw and seed, and in each column a value per run, each a finite number in its
    range: error and rejection percentages in [0, 100], losses at least 0 (readers.Unreadable if not)."""
    n = len(run_keys(runs))
    columns = [where for where in columns if not where.startswith("val.") or "val" in runs]  # USPS has no val split
    for d, s in run_keys(runs):
        readers.number(d, 0, 2**31, "a draw")
        readers.number(s, 0, 2**32, "a seed")
    for where in columns:
        split, key = where.split(".")
        values = runs[split][key]
        if not isinstance(values, list) or len(values) != n:
            raise readers.Unreadable(f"{where} does not hold one value per run")
        high = float("inf") if where.endswith("loss") else 100
        for value in values:
            readers.number(value, 0, high, f"a value of {where}")


def read_per_run(path: Path, name: str, columns=COLUMNS) -> dict:
    """A per-run file of the evaluate stage (metrics/per_run/<name>.json), checked: DataError if not."""
    if not path.is_file():
        raise DataError(f"{path} is missing: run the pipeline first (dvc repro)")
    try:
        runs = readers.json_file(path)
        check_per_run(runs, columns)
    except (readers.Unreadable, KeyError, TypeError, AttributeError) as e:
        reason = e if isinstance(e, readers.Unreadable) else "a field missing or malformed"
        raise DataError(f"{path} is not a per-run file of the evaluate stage ({reason}): rerun dvc repro -s -f evaluate@{name}") from None
    return runs


def read_runs(root: Path, name: str, folder: Path = Path("metrics/per_run")) -> dict:
    return read_per_run(root / folder / f"{name}.json", name)


def paired_all(params, runs: dict[str, dict]) -> dict:
    """{"<variant>-<baseline>": paired differences of test error %, variant minus baseline} for every
    variant of runs that has a baseline in runs (the key reads as the subtraction it holds)."""
    out = {}
    for name in params.variants:
        base = params.baseline_of(name)
        if base is None or name not in runs or base not in runs:
            continue
        if not matched(runs[name], runs[base]):
            raise DataError(
                f"metrics/per_run/{name}.json and metrics/per_run/{base}.json share no (draw, seed) run to pair: "
                "rerun both evaluate stages after checking their params (dvc repro)"
            )
        out[f"{name}-{base}"] = compare(runs, name, base)
    return out


def independent_paired(root: Path, params) -> dict:
    """paired_all over metrics/independent/per_run/: the pairs whose two rows both have a per-run file
    there ({} without the folder)."""
    folder = root / INDEPENDENT
    runs = {name: read_runs(root, name, INDEPENDENT) for name in params.variants if (folder / f"{name}.json").is_file()}
    return paired_all(params, runs)


def compute(root: Path):
    """params, {variant: per-run file} and paired.json's content, from params.yaml and metrics/per_run/."""
    params = load_params(root / "params.yaml")
    runs = {name: read_runs(root, name) for name in params.variants}
    return params, runs, paired_all(params, runs)
