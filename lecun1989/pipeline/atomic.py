"""Crash-safe outputs: everything is written beside its target and renamed into place, so a stage
killed at any moment leaves either the old output or none, never a half-written one. What a killed
run leaves beside the target (a temp file or folder, a moved-aside old copy) is removed by the next."""

import contextlib
import glob
import json
import os
import shutil
import tempfile
from pathlib import Path


def _tmp_name(target: Path) -> Path:
    return target.with_name(f".{target.name}.tmp-{os.getpid()}")


def _sweep(target: Path) -> None:
    for kind in ("tmp", "old"):
        for stale in target.parent.glob(f".{glob.escape(target.name)}.{kind}-*"):
            if stale.is_dir() and not stale.is_symlink():
                shutil.rmtree(stale)
            else:
                stale.unlink(missing_ok=True)


def write_bytes(target: str | Path, data: bytes) -> None:
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    _sweep(target)
    tmp = _tmp_name(target)
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def write_json(target: str | Path, obj) -> None:
    write_bytes(target, (json.dumps(obj, indent=2, sort_keys=False) + "\n").encode())


@contextlib.contextmanager
def output_dir(target: str | Path):
    """Yield an empty scratch folder; on success it replaces `target` whole, on failure it vanishes."""
    target = Path(target)
    created = [p for p in [target.parent, *target.parent.parents] if not p.exists()]  # innermost first
    target.parent.mkdir(parents=True, exist_ok=True)
    _sweep(target)
    scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    umask = os.umask(0)
    os.umask(umask)
    scratch.chmod(0o777 & ~umask)  # mkdtemp makes it 0700
    try:
        yield scratch
        old = None
        if target.exists():
            old = target.with_name(f".{target.name}.old-{os.getpid()}")
            os.replace(target, old)
        os.replace(scratch, target)
        if old is not None:
            shutil.rmtree(old)
        created = []
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        for folder in created:  # a failed run leaves no folders it made for its output either
            with contextlib.suppress(OSError):
                folder.rmdir()
