"""Write the README's figures (PNG, matplotlib, deterministic bytes) from the metrics and plots of
the last run (`make repro`); `make figures` runs it. No training or evaluation happens here.

Reads params: the variant names (keys of variants:) from params.yaml.
Reads: metrics/curves/<variant>/plots/metrics/{mean,min,max}/{train,test}_{loss,error}.tsv (train
stage, DVCLive), metrics/<variant>.json, metrics/reject/<variant>.csv, metrics/confusion/<variant>.csv
and metrics/misread/<variant>.png (evaluate stage), metrics/paired.json (report stage).
Writes: OUT_DIR/learning_curves.png (loss and error by epoch, mean over runs with the min..max band),
OUT_DIR/reject_curves.png (error on the kept test digits vs the share rejected, lowest margin first),
OUT_DIR/confusion.png (test-set confusions, runs pooled, diagonal left out), OUT_DIR/forest.png
(every compared pair's mean paired difference of test error with its 95 % interval) and
OUT_DIR/misread_<variant>.png (a copy of the evaluate stage's picture).
With --data (the download stages' folders, after `make repro`): OUT_DIR/digits.png, the first ten
digits of every class of USPS (the paper's digits, as stored) beside the first ten of MNIST's training
digits at 16x16 (as the MNIST rows see them).
"""

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from lecun1989.evaluation import figures  # noqa: E402  (selects matplotlib's Agg backend)
from lecun1989.pipeline import readers  # noqa: E402
from lecun1989.pipeline.atomic import write_bytes  # noqa: E402
from lecun1989.pipeline.errors import run_stage  # noqa: E402
from lecun1989.pipeline.schema import load_params  # noqa: E402

FONT_SIZE = 9  # the confusion counts and labels: readable at the README's width


class MissingRun(Exception):
    pass


def read_table(path: Path, delimiter: str) -> dict[str, np.ndarray]:
    """{column: values} of a CSV or TSV file of the pipeline: every cell a finite number, but a run's
    label (d<draw>_s<seed>) in the run column."""
    if not path.is_file():
        raise MissingRun(f"{path} is missing: run `make repro` (or dvc repro) first")
    try:
        rows = readers.csv_rows(path, delimiter)
        return {k: np.array([label(r[k]) if k == "run" else cell(r[k]) for r in rows]) for k in rows[0]} if rows else {}
    except readers.Unreadable as e:
        raise MissingRun(f"{path} is not a table of the pipeline ({e}): rerun the stage that writes it (dvc repro -f)") from None


def cell(text: str) -> float:
    try:
        return readers.number(float(text), what=f"the cell {text[:30]!r}")
    except ValueError:
        raise readers.Unreadable(f"the cell {text[:30]!r} is not a number") from None


def label(text: str) -> str:
    if not re.fullmatch(r"d\d{1,10}_s\d{1,10}", text):
        raise readers.Unreadable(f"the run {text[:30]!r} is not a run label d<draw>_s<seed>")
    return text


def read_json(path: Path):
    try:
        return readers.json_file(path)
    except readers.Unreadable as e:
        raise MissingRun(f"{path} cannot be read ({e}): rerun the stage that writes it (dvc repro -f)") from None


def curve(metrics_dir: Path, variant: str, stat: str, name: str):
    t = read_table(metrics_dir / "curves" / variant / "plots" / "metrics" / stat / f"{name}.tsv", "\t")
    return t["step"], t[name]


def learning_curves(metrics_dir: Path, variants: list[str]) -> bytes:
    fig, axes = plt.subplots(2, 2, figsize=(11, 7.5), sharex=True)
    for ax, (split, quantity) in zip(axes.flat, [("test", "error"), ("train", "error"), ("test", "loss"), ("train", "loss")]):
        name = f"{split}_{quantity}"
        for i, v in enumerate(variants):
            x, mean = curve(metrics_dir, v, "mean", name)
            _, lo = curve(metrics_dir, v, "min", name)
            _, hi = curve(metrics_dir, v, "max", name)
            ax.plot(x, mean, color=f"C{i}", label=v, lw=1.3)
            ax.fill_between(x, lo, hi, color=f"C{i}", alpha=0.18, lw=0)
        ax.set_yscale("log")
        ax.set_title(f"{split} {quantity}" + (" %" if quantity == "error" else ""), fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
    for ax in axes[1]:
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[0, 0].legend(fontsize=8)
    fig.suptitle("Learning curves: mean over runs (draws x seeds), band from the best to the worst run", fontsize=11)
    fig.tight_layout()
    return figures.png_bytes(fig)


def reject_curves(metrics_dir: Path, variants: list[str]) -> bytes:
    fig, ax = plt.subplots(figsize=(7.5, 5))
    for i, v in enumerate(variants):
        t = read_table(metrics_dir / "reject" / f"{v}.csv", ",")
        summary = read_json(metrics_dir / f"{v}.json")["test"]["reject_for_1pct_error"]
        label = f"{v}: reject {summary['mean']:.1f}% for 1%"
        ax.plot(t["rejected_pct"], t["error_mean"], color=f"C{i}", label=label, lw=1.3)
        ax.fill_between(t["rejected_pct"], t["error_min"], t["error_max"], color=f"C{i}", alpha=0.18, lw=0)
    ax.axhline(1.0, color="k", ls="--", lw=0.8)
    ax.set_xlabel("test digits rejected, lowest top-1 minus top-2 margin first (%)")
    ax.set_ylabel("error on the digits kept (%)")
    ax.set_title("The paper's operating point: rejection needed for 1% error (mean over runs)", fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return figures.png_bytes(fig)


def text_color_on(rgba) -> str:
    """Black or white, whichever reads better on a cell of this colour (relative luminance)."""
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgba[:3])
    return "black" if 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.18 else "white"


def confusion(metrics_dir: Path, variants: list[str]) -> bytes:
    ncols = min(3, len(variants))
    nrows = -(-len(variants) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.6 * ncols, 4.9 * nrows), squeeze=False, layout="constrained")
    for ax in axes.flat[len(variants) :]:
        ax.set_axis_off()
    for ax, v in zip(axes.flat, variants):
        t = read_table(metrics_dir / "confusion" / f"{v}.csv", ",")
        counts = np.zeros((10, 10), np.int64)
        np.add.at(counts, (t["actual"].astype(int), t["predicted"].astype(int)), 1)
        n_runs = len(np.unique(t["run"]))
        off = counts.astype(float)
        np.fill_diagonal(off, np.nan)
        image = ax.imshow(off, cmap="Reds", vmin=0)
        for a in range(10):
            for p in range(10):
                if a != p and counts[a, p]:
                    color = text_color_on(image.cmap(image.norm(counts[a, p])))
                    ax.text(p, a, str(counts[a, p]), ha="center", va="center", fontsize=FONT_SIZE, color=color)
        ax.set_xticks(range(10))
        ax.set_yticks(range(10))
        ax.tick_params(labelsize=FONT_SIZE)
        ax.set_xlabel("predicted", fontsize=FONT_SIZE + 1)
        ax.set_ylabel("true", fontsize=FONT_SIZE + 1)
        ax.set_title(f"{v}\n{int(off[~np.isnan(off)].sum())} misses, {n_runs} runs pooled", fontsize=FONT_SIZE + 1)
    fig.suptitle("Which digits are read as which (test set, correct readings left out)", fontsize=12)
    return figures.png_bytes(fig)


def forest(metrics_dir: Path) -> bytes:
    path = metrics_dir / "paired.json"
    if not path.is_file():
        raise MissingRun(f"{path} is missing: run `make results` (or dvc repro report) first")
    paired = read_json(path)
    fig, ax = plt.subplots(figsize=(7.5, 0.55 * len(paired) + 1.4))
    for y, (key, p) in enumerate(reversed(paired.items())):
        low, high = p.get("ci95_low", p["mean"]), p.get("ci95_high", p["mean"])
        color = "C0" if high < 0 else "C3" if low > 0 else "0.45"
        ax.plot([low, high], [y, y], color=color, lw=2.2, solid_capstyle="butt")
        ax.plot(p["mean"], y, "o", color=color, ms=6)
        name, base = key.split("-", 1)
        ax.annotate(
            f"{p['mean']:+.2f}  [{low:+.2f}, {high:+.2f}]", (high, y), xytext=(6, 0), textcoords="offset points", va="center", fontsize=8
        )
        ax.text(
            -0.02, y, f"{name}\nvs {base} ({p['n_pairs']} pairs)", transform=ax.get_yaxis_transform(), ha="right", va="center", fontsize=8
        )
    ax.axvline(0, color="k", lw=0.8)
    ax.set_yticks([])
    ax.set_ylim(-0.7, len(paired) - 0.3)
    left, right = ax.get_xlim()
    ax.set_xlim(left, right + 0.35 * (right - left))  # room for the labels right of each interval
    ax.set_xlabel("paired difference of test error, points (variant minus baseline)")
    ax.set_title("Each row against its baseline: mean paired difference, 95 % t interval", fontsize=10)
    ax.grid(True, axis="x", alpha=0.3)
    fig.tight_layout()
    return figures.png_bytes(fig)


def digits(data_dir: Path) -> bytes:
    """Ten digits of every class (rows) from USPS and from MNIST at 16x16, side by side."""
    from lecun1989.data import idx, usps
    from lecun1989.data.preprocessing import to_16x16

    mat = data_dir / "USPS" / "raw" / usps.MAT_NAME
    if not mat.is_file():
        raise MissingRun(f"{mat} is missing: run `make repro` (or dvc repro download_usps) first")
    digits = usps.read_resampled(mat)
    mnist = idx.read_raw(data_dir / "MNIST" / "raw")
    first = lambda labels: [np.flatnonzero(labels == c)[:10] for c in range(10)]  # noqa: E731
    sides = {
        "USPS (the paper's zip-code digits)": digits["images"][np.concatenate(first(digits["labels"]))],
        "MNIST, resized to 16x16": to_16x16(mnist["train_images"][np.concatenate(first(mnist["train_labels"]))], antialias=True),
    }
    fig, axes = plt.subplots(1, 2, figsize=(9, 4.9))
    for ax, (title, images) in zip(axes, sides.items()):
        grid = np.full((10 * 17 - 1, 10 * 17 - 1), -1.0)
        for k, image in enumerate(images):
            r, c = divmod(k, 10)
            grid[17 * r : 17 * r + 16, 17 * c : 17 * c + 16] = image
        ax.imshow(grid, cmap="gray_r", vmin=-1, vmax=1, interpolation="nearest")
        ax.set_title(title, fontsize=10)
        ax.set_axis_off()
    fig.suptitle("The first ten digits of each class, 0 (top) to 9", fontsize=11)
    fig.tight_layout()
    return figures.png_bytes(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--metrics", default="metrics", help="the pipeline's metrics folder (default metrics)")
    parser.add_argument("--out", default="docs/figures", help="output folder (default docs/figures)")
    parser.add_argument("--params", default="params.yaml", help="the params file (default params.yaml)")
    parser.add_argument("--data", type=Path, help="the data folder of a run (data): also write digits.png from its downloads")
    args = parser.parse_args(argv)

    metrics_dir, out = Path(args.metrics), Path(args.out)
    variants = list(load_params(args.params).variants)
    try:
        pictures = {
            "learning_curves.png": learning_curves(metrics_dir, variants),
            "reject_curves.png": reject_curves(metrics_dir, variants),
            "confusion.png": confusion(metrics_dir, variants),
            "forest.png": forest(metrics_dir),
        }
        for v in variants:
            png = metrics_dir / "misread" / f"{v}.png"
            if not png.is_file():
                raise MissingRun(f"{png} is missing: run `make repro` (or dvc repro) first")
            pictures[f"misread_{v}.png"] = png.read_bytes()
        if args.data:
            pictures["digits.png"] = digits(args.data)
    except MissingRun as e:
        print(f"readme_figures: {e}", file=sys.stderr)
        sys.exit(1)
    for name, data in pictures.items():
        write_bytes(out / name, data)
    print(f"readme_figures: {', '.join(pictures)} -> {out}")


if __name__ == "__main__":
    run_stage(main)
