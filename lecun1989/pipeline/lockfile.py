"""What dvc.lock records of a stage's output, and whether a file or folder still holds those bytes.

DVC writes a stage's entry in dvc.lock (in the folder the stages run in) when the stage succeeds,
before any stage that reads its outputs runs: the MD5 of a file, or of a folder as DVC hashes one
(the MD5 of the sorted JSON list of its files' MD5s and paths, then ".dir"). dvc.lock is the record
the pipeline already keeps and commits, so no second digest file can drift from it.

The check fails closed: an input is refused if its bytes differ from the record, and also if
dvc.lock is unreadable or malformed, or lists no such output of the stage. Only a folder where DVC
never ran (no dvc.lock, and the stage not started by DVC, which sets $DVC_STAGE) has no record to
check; a stage run by hand there still checks the model's own record (training/checkpoint.py)."""

import hashlib
import json
import os
import re
from pathlib import Path

import yaml

from lecun1989.pipeline.errors import DataError

LOCK = Path("dvc.lock")
MD5 = re.compile(r"[0-9a-f]{32}(\.dir)?")


def md5_of(path: Path) -> str:
    """DVC's MD5 of a file, or of a folder (every file below it; DVC's `hash: md5`)."""
    path = Path(path)
    if not path.is_dir():
        return hashlib.md5(path.read_bytes()).hexdigest()
    files = sorted(p for p in path.rglob("*") if p.is_file())
    listing = [{"md5": hashlib.md5(p.read_bytes()).hexdigest(), "relpath": p.relative_to(path).as_posix()} for p in files]
    listing.sort(key=lambda entry: entry["relpath"])
    return hashlib.md5(json.dumps(listing, sort_keys=True).encode()).hexdigest() + ".dir"


def _malformed(why: str) -> DataError:
    return DataError(f"{LOCK} is unreadable or malformed ({why}), so nothing can be checked against it: restore it (git checkout {LOCK})")


def recorded(path: Path, stage: str, lock: Path = LOCK) -> str | None:
    """The MD5 dvc.lock records for `path` as an output of `stage` (e.g. train@lecun1989); None only
    where DVC never ran (no dvc.lock, not started by DVC). Refuses a missing or malformed record."""
    missing = DataError(f"{LOCK} has no record of {path} as an output of {stage}: produce it through DVC (dvc repro {stage})")
    if not lock.is_file():
        if os.environ.get("DVC_STAGE"):
            raise missing
        return None
    try:
        document = yaml.load(lock.read_text(), Loader=yaml.CSafeLoader)  # libyaml's safe loader: Python's took a second on dvc.lock
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise _malformed(type(e).__name__) from None
    stages = document.get("stages") if isinstance(document, dict) else None
    if not isinstance(stages, dict):
        raise _malformed("no mapping of stages")
    entry = stages.get(stage)
    if entry is None:
        raise missing
    outs = entry.get("outs") if isinstance(entry, dict) else None
    if not isinstance(outs, list) or not all(isinstance(out, dict) for out in outs):
        raise _malformed(f"{stage} has no list of outputs")
    try:
        rel = Path(path).resolve().relative_to(lock.resolve().parent).as_posix()
    except ValueError:
        raise missing from None
    for out in outs:
        if out.get("path") == rel:
            if not isinstance(out.get("md5"), str) or not MD5.fullmatch(out["md5"]):
                raise _malformed(f"the MD5 of {rel} in {stage} is {out.get('md5')!r}")
            return out["md5"]
    raise missing


def check(path, stage: str, what: str, data: bytes | None = None) -> None:
    """Refuse `path` (what: "the model", "the prepared data") unless its bytes (`data`, where they
    were read already) are those dvc.lock records for it as `stage`'s output."""
    path = Path(path)
    md5 = recorded(path, stage)
    now = None if md5 is None else md5_of(path) if data is None else hashlib.md5(data).hexdigest()
    if md5 is not None and now != md5:
        raise DataError(
            f"{path} is not {what} {stage} wrote (MD5 {now}, dvc.lock records {md5}): damaged or replaced; "
            f"restore it (dvc checkout {path}) or rerun (dvc repro -s -f {stage})"
        )
