"""The pipeline's first DVC stage, check_params: params.yaml against its one schema (schema.py).

`python -m lecun1989.pipeline.params PARAMS STAMP` validates the whole PARAMS file and writes
STAMP, whose bytes never change. Every other stage depends on STAMP, so DVC runs this check before it deletes
any stage's outputs, and a refused edit (a bad value, an unknown key at any level) costs nothing;
an accepted edit reruns the check and then only the stages whose own params changed.

Without STAMP it only checks: it is the first command of every stage of dvc.yaml whose command holds
a key or value of params.yaml (`${key}`, `${item.dataset}`). DVC pastes those into the command's
text unquoted and runs each command of a stage in a shell, in order, stopping at the first that
fails; so the line holding them runs only once every key and name of params.yaml is a plain name
(NAME) and the stage's own key, which DVC passes as $DVC_STAGE (`train@<key>`), is one too. This
holds for every way DVC starts a stage (`dvc repro -s`, `--downstream`, `dvc exp run`, a queue)."""

import argparse
import os
import re

from lecun1989.pipeline import dvc_state, output_guard
from lecun1989.pipeline.atomic import write_bytes
from lecun1989.pipeline.errors import ParamsError, run_stage
from lecun1989.pipeline.schema import NAME, load_params

STAMP = b"params checked against lecun1989/pipeline/params.py\n"
STAMP_KIND = output_guard.file_starting("the check_params stage's stamp file", STAMP)


def check_stage_key(stage: str | None) -> None:
    """Refuse a DVC stage address ($DVC_STAGE, e.g. `train@lecun1989`) whose key is not a name."""
    key = (stage or "").partition("@")[2]
    if stage and "@" in stage and not re.fullmatch(NAME.strip("^$"), key):
        raise ParamsError(
            f"DVC_STAGE = {stage!r}: the stage's key {key!r} is not a name ({NAME}) and DVC put it into the stage's command; "
            "rename it in params.yaml and run dvc repro again"
        )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("params", help="the params file, e.g. params.yaml")
    parser.add_argument(
        "stamp", nargs="?", help="output: a file of constant bytes, written when the params are valid, e.g. data/params.checked"
    )
    args = parser.parse_args(argv)
    load_params(args.params)
    dvc_state.check_lock()  # DVC rewrote it in place after the last stage: a full disk cuts it short
    check_stage_key(os.environ.get("DVC_STAGE"))
    if args.stamp is None:
        return
    output_guard.check({args.stamp: STAMP_KIND}, inputs=[args.params])
    write_bytes(args.stamp, STAMP)


if __name__ == "__main__":
    run_stage(main)
