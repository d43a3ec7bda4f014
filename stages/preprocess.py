"""Stage 2, preprocess: one dataset of params.yaml, every subset draw of it, at 16x16.

Reads params: datasets.DATASET (n_train, n_val, n_test, draws, antialias).
Reads: RAW_DIR (the IDX files of the download stage, checked against their digests).
Writes: OUT_DIR/draw_<draw>/{train,val,test}_{x,y,index}.npy and manifest.json for each draw:
pixels in [-1, 1], integer labels, and the index of every digit in its original MNIST split
(train and val index MNIST's training set, test its test set). How the digits are drawn:
lecun1989/data/preprocessing.py. OUT_DIR is replaced only if it is missing or holds a prepared
folder (draw_<draw>/ folders); anything else is refused.
"""

import argparse

import numpy as np

from lecun1989.data import idx, prepared
from lecun1989.data.preprocessing import draw_indices, to_16x16
from lecun1989.pipeline import declared, guard
from lecun1989.pipeline.errors import run_stage
from lecun1989.pipeline.params import load_for_dataset

MNIST_SPLIT = {"train": "train", "val": "train", "test": "test"}  # the MNIST set each split draws from


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dataset", help="a key of datasets: in params.yaml, e.g. zip1989")
    parser.add_argument("raw_dir", help="the download stage's folder, e.g. data/MNIST/raw")
    parser.add_argument("out_dir", help="output folder, e.g. data/prepared/zip1989")
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args(argv)

    params = load_for_dataset(args.dataset, args.params)
    cfg = params.datasets[args.dataset]
    guard.check({args.out_dir: prepared.KIND}, inputs=[args.raw_dir])
    declared.check("preprocess", args.dataset, [args.out_dir], params)
    raw = idx.read_raw(args.raw_dir)
    draws = {}
    for draw in cfg.draws:
        indices = draw_indices(draw, cfg.n_train, cfg.n_val, cfg.n_test)
        draws[draw] = {}
        for split, index in indices.items():
            images, labels = raw[f"{MNIST_SPLIT[split]}_images"], raw[f"{MNIST_SPLIT[split]}_labels"]
            draws[draw][split] = {"x": to_16x16(images[index], cfg.antialias), "y": labels[index], "index": index.astype(np.int64)}
    prepared.save(args.out_dir, draws)
    print(
        f"preprocess {args.dataset}: {len(cfg.draws)} draws of {cfg.n_train} train + {cfg.n_val} val + {cfg.n_test} test digits "
        f"at 16x16 -> {args.out_dir}"
    )


if __name__ == "__main__":
    run_stage(main)
