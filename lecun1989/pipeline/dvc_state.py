"""DVC's own files that DVC rewrites in place: dvc.lock (after every stage) and .dvc/tmp/rwlock
(at every command). A full disk at that moment leaves one empty or cut short, and DVC then stops
every later command with a message that does not say how to recover. Checked before DVC runs (the
Makefile's repro, results and verify targets run this module) and at the check_params stage:

    python -m lecun1989.pipeline.dvc_state [ROOT]    # exit 1 with one line if either is damaged
"""

import argparse
from pathlib import Path

from lecun1989.pipeline import readers
from lecun1989.pipeline.errors import DataError, run_stage

LOCK, RWLOCK = Path("dvc.lock"), Path(".dvc/tmp/rwlock")
DVC_VERSION = "3.67.1"  # uv.lock's dvc: it writes both files in place, not beside and renamed


def _damage(path: Path, parse) -> str | None:
    """Why the file at path is damaged, None when it is missing or sound."""
    if not path.exists():
        return None
    try:
        data = readers.read_bytes(path)
        if not data.strip():
            return f"{len(data)} bytes"
        return parse(path, data)
    except readers.Unreadable as e:
        return str(e)


def _lock(path: Path, data: bytes) -> str | None:
    doc = readers.parse_yaml(path, data)
    if not isinstance(doc, dict) or "schema" not in doc or not isinstance(doc.get("stages", {}), dict):
        return "not DVC's lock file: no schema or stages"
    return None


def _rwlock(path: Path, data: bytes) -> str | None:
    """As DVC's rwlock schema reads it: a JSON object with at most a read and a write entry ({} included)."""
    doc = readers.parse_json(data)
    if not isinstance(doc, dict) or not set(doc) <= {"read", "write"}:
        return "not DVC's lock of running commands: entries other than read and write"
    return None


def lock_stages(root: Path = Path(".")) -> dict:
    """The stages that dvc.lock records ({} when there is none); DataError if it is damaged."""
    check_lock(root)
    path = root / LOCK
    if not path.exists():
        return {}
    return readers.yaml_file(path).get("stages") or {}


def check_lock(root: Path = Path(".")) -> None:
    why = _damage(root / LOCK, _lock)
    if why:
        raise DataError(
            f"{root / LOCK} is damaged ({why}; DVC {DVC_VERSION} rewrites it in place, so a full disk or a kill cuts it short): "
            f"restore it (git checkout {LOCK}) and rerun"
        )


def check_rwlock(root: Path = Path(".")) -> None:
    why = _damage(root / RWLOCK, _rwlock)
    if why:
        raise DataError(
            f"{root / RWLOCK} is damaged ({why}; DVC {DVC_VERSION} rewrites it in place at every command): "
            f"with no dvc command running, remove it (rm {RWLOCK}) and rerun"
        )


def check(root: Path = Path(".")) -> None:
    check_rwlock(root)
    check_lock(root)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("root", nargs="?", type=Path, default=Path("."), help="the repository (default: the current folder)")
    check(parser.parse_args(argv).root)


if __name__ == "__main__":
    run_stage(main)
