"""Stage 2, preprocess: the 1989-sized data set, 7291 training and 2007 test digits at 16x16.

Reads params: prepare.n_train, prepare.n_test, prepare.subset_seed, prepare.antialias.
Reads: RAW_DIR (the IDX files of the download stage, checked against their digests).
Writes: OUT_DIR/{train,test}_{x,y,index}.npy and manifest.json: pixels in [-1, 1], integer
labels, and the index of every digit in the original MNIST split.
"""

import argparse

import numpy as np

import idx
import prepared
from errors import run_stage
from params import load_params

SPLIT_STREAM = {"train": 0, "test": 1}


def draw_subset(n_available: int, n: int, seed: int, split: str) -> np.ndarray:
    """n distinct indices, from a stream of their own per split: the same digits every run."""
    rng = np.random.Generator(np.random.PCG64([seed, SPLIT_STREAM[split]]))
    return rng.permutation(n_available)[:n]


def to_16x16(images: np.ndarray, antialias: bool) -> np.ndarray:
    """uint8 (n, 28, 28) -> float32 (n, 16, 16) in [-1, 1], bilinear, all digits in one call."""
    import jax  # imported here: the rest of the stage needs no JAX

    x = images.astype(np.float32) / 127.5 - 1.0
    out = jax.image.resize(x, (x.shape[0], 16, 16), "bilinear", antialias=antialias)
    return np.clip(np.asarray(out, np.float32), -1.0, 1.0)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("raw_dir", help="the download stage's folder, e.g. data/MNIST/raw")
    parser.add_argument("out_dir", help="output folder, e.g. data/prepared")
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args(argv)

    cfg = load_params(args.params).prepare
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
