"""Stage 2, preprocess: one dataset of params.yaml, every subset draw of it, at 16x16.

Reads params: datasets.DATASET: for MNIST (database: mnist) n_train, n_val, n_test, draws, antialias;
for USPS (database: usps) split and draws.
Reads: MNIST_DIR (the IDX files of the download stage) for MNIST, USPS_DIR (the download_usps
stage's files) for USPS, each checked against its digests.
Writes: OUT_DIR/draw_<draw>/{train,val,test}_{x,y,index}.npy and manifest.json for each draw:
pixels in [-1, 1], integer labels, and the index of every digit in its database: for MNIST in its
original split (train and val index MNIST's training set, test its test set), for the USPS resplits
in the 9,298 digits (lecun1989/data/usps.py), for the paper's USPS split in that split's file. USPS
datasets have no validation digits (empty val arrays). How the digits are drawn:
lecun1989/data/preprocessing.py and lecun1989/data/usps.py. OUT_DIR is replaced only if it is
missing or holds a prepared folder (draw_<draw>/ folders); anything else is refused.
"""

import argparse
from pathlib import Path

import numpy as np

from lecun1989.data import idx, prepared, usps
from lecun1989.data.preprocessing import draw_indices, to_16x16
from lecun1989.pipeline import declared, output_guard
from lecun1989.pipeline.errors import run_stage
from lecun1989.pipeline.schema import load_for_dataset

MNIST_SPLIT = {"train": "train", "val": "train", "test": "test"}  # the MNIST set each split draws from


def mnist_draws(cfg, raw_dir) -> dict:
    raw = idx.read_raw(raw_dir)
    draws = {}
    for draw in cfg.draws:
        draws[draw] = {}
        for split, index in draw_indices(draw, cfg.n_train, cfg.n_val, cfg.n_test).items():
            images, labels = raw[f"{MNIST_SPLIT[split]}_images"], raw[f"{MNIST_SPLIT[split]}_labels"]
            draws[draw][split] = {"x": to_16x16(images[index], cfg.antialias), "y": labels[index], "index": index.astype(np.int64)}
    return draws


def usps_draws(cfg, raw_dir) -> dict:
    """Per draw the USPS train and test digits (x, y, index), and no validation digits (empty arrays)."""
    if cfg.split == "paper":
        d = usps.read_original(raw_dir)
        pairs = {split: (d[f"{split}_images"], d[f"{split}_labels"], np.arange(len(d[f"{split}_labels"]))) for split in ("train", "test")}
        chosen = {cfg.draws[0]: pairs}
    else:
        d = usps.read_resampled(Path(raw_dir) / usps.MAT_NAME)
        chosen = {
            draw: {split: (d["images"][i], d["labels"][i], i) for split, i in usps.resplit_indices(d["labels"], draw).items()}
            for draw in cfg.draws
        }
    empty = (np.zeros((0, 16, 16), np.float32), np.zeros(0, np.uint8), np.zeros(0, np.int64))
    return {
        draw: {split: dict(zip(prepared.ARRAYS, splits.get(split, empty))) for split in prepared.SPLITS} for draw, splits in chosen.items()
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dataset", help="a key of datasets: in params.yaml, e.g. zip1989")
    parser.add_argument("mnist_dir", help="the download stage's folder, e.g. data/MNIST/raw")
    parser.add_argument("usps_dir", help="the download_usps stage's folder, e.g. data/USPS/raw")
    parser.add_argument("out_dir", help="output folder, e.g. data/prepared/zip1989")
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args(argv)

    params = load_for_dataset(args.dataset, args.params)
    cfg = params.datasets[args.dataset]
    raw_dir = args.usps_dir if cfg.database == "usps" else args.mnist_dir
    output_guard.check({args.out_dir: prepared.KIND}, inputs=[args.mnist_dir, args.usps_dir])
    declared.check("preprocess", args.dataset, [args.out_dir], params)
    draws = usps_draws(cfg, raw_dir) if cfg.database == "usps" else mnist_draws(cfg, raw_dir)
    prepared.save(args.out_dir, draws)
    print(
        f"preprocess {args.dataset}: {len(cfg.draws)} draws of {cfg.n_train} train + {cfg.n_val} val + {cfg.n_test} test "
        f"{cfg.database.upper()} digits at 16x16 -> {args.out_dir}"
    )


if __name__ == "__main__":
    run_stage(main)
