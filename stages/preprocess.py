"""Stage 2, preprocess: the 1989-sized data set, 7291 training and 2007 test digits at 16x16.

Reads params: prepare.n_train, prepare.n_test, prepare.subset_seed, prepare.antialias.
Reads: RAW_DIR (the IDX files of the download stage, checked against their digests).
Writes: OUT_DIR/{train,test}_{x,y,index}.npy and manifest.json: pixels in [-1, 1], integer
labels, and the index of every digit in the original MNIST split. OUT_DIR is replaced only if it
is missing or holds a prepared folder (.npy files and manifest.json); anything else is refused.
"""

import argparse

import numpy as np

from lecun1989.data import idx, prepared
from lecun1989.data.preprocessing import draw_subset, to_16x16
from lecun1989.pipeline import guard
from lecun1989.pipeline.errors import run_stage
from lecun1989.pipeline.params import load_params


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("raw_dir", help="the download stage's folder, e.g. data/MNIST/raw")
    parser.add_argument("out_dir", help="output folder, e.g. data/prepared")
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args(argv)

    cfg = load_params(args.params).prepare
    guard.check({args.out_dir: prepared.KIND}, inputs=[args.raw_dir])
    raw = idx.read_raw(args.raw_dir)
    splits = {}
    for split, n in (("train", cfg.n_train), ("test", cfg.n_test)):
        images, labels = raw[f"{split}_images"], raw[f"{split}_labels"]
        index = draw_subset(len(labels), n, cfg.subset_seed, split)
        splits[split] = {"x": to_16x16(images[index], cfg.antialias), "y": labels[index], "index": index.astype(np.int64)}
    prepared.save(args.out_dir, splits)
    print(f"preprocess: {cfg.n_train} train + {cfg.n_test} test digits at 16x16 -> {args.out_dir}")


if __name__ == "__main__":
    run_stage(main)
