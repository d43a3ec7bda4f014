"""The README's results table, generated from metrics/ (never typed by hand).

python -m lecun1989.reporting.results_table            # print the table
python -m lecun1989.reporting.results_table --write    # replace the table in README.md
python -m lecun1989.reporting.results_table --check    # exit 1 if README.md's table is stale
"""

import argparse
import json
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
START, END = "<!-- results-table:start -->", "<!-- results-table:end -->"

# Single-run test errors (%) published by the other reproductions (docs/anchors.md).
ANCHORS = {
    "lecun1989": {"paper": "5.00", "seed": "3.69", "karpathy": "4.09"},
    "change1_softmax": {"paper": "—", "seed": "4.14", "karpathy": "4.38"},
    "change2_adamw": {"paper": "—", "seed": "4.04", "karpathy": "3.59"},
    "change3_shift": {"paper": "—", "seed": "2.59", "karpathy": "2.19"},
    "change4_relu_dropout": {"paper": "—", "seed": "1.74", "karpathy": "1.59"},
    "lecun1989_paper": {"paper": "5.00", "seed": "—", "karpathy": "—"},  # no other reproduction trains this way
}


def table(root: Path = ROOT) -> str:
    variants = yaml.safe_load((root / "params.yaml").read_text())["variants"]
    rows = [
        "| variant | epochs | seeds | test error % mean ± std (min–max) | test misses per seed | train error % mean ± std "
        "| rejected for 1% test error, % | paper 1989 | seed notebook | karpathy |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, variant in variants.items():
        path = root / "metrics" / f"{name}.json"
        if not path.is_file():
            raise SystemExit(f"{path} is missing: run the pipeline first (make repro)")
        m = json.loads(path.read_text())
        misses = json.loads((root / "metrics" / "per_seed" / f"{name}.json").read_text())["test"]["misses"]
        te, tr, rej = m["test"]["error_pct"], m["train"]["error_pct"], m["test"]["reject_for_1pct_error"]
        anchor = ANCHORS.get(name, {"paper": "—", "seed": "—", "karpathy": "—"})
        rows.append(
            f"| {name} | {variant['epochs']} | {m['n_seeds']} | {te['mean']:.2f} ± {te['std']:.2f} ({te['min']:.2f}–{te['max']:.2f}) "
            f"| {', '.join(map(str, misses))} | {tr['mean']:.2f} ± {tr['std']:.2f} | {rej['mean']:.1f} ± {rej['std']:.1f} "
            f"| {anchor['paper']} | {anchor['seed']} | {anchor['karpathy']} |"
        )
    return "\n".join(rows)


def replaced(readme: str, new_table: str) -> str:
    if START not in readme or END not in readme:
        raise SystemExit(f"README.md lacks the markers {START} ... {END}")
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{new_table}\n{END}{tail}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--write", action="store_true", help="replace the table in README.md")
    group.add_argument("--check", action="store_true", help="exit 1 if README.md's table differs from metrics/")
    args = parser.parse_args(argv)

    readme_path = ROOT / "README.md"
    new = replaced(readme_path.read_text(), table())
    if args.write:
        readme_path.write_text(new)
    elif args.check:
        if new != readme_path.read_text():
            sys.exit("README.md's results table is stale: run `make results` and commit README.md")
    else:
        print(table())


if __name__ == "__main__":
    main()
