"""Crash-safe outputs: everything is written beside its target and renamed into place, so a stage
killed at any moment leaves either the old output or none, never a half-written one. A stage with
several outputs writes them all first and renames them together (`staged`): a failure while writing
any of them (a full disk) replaces none. What a killed run leaves beside a target (a temp file or
folder, a moved-aside old copy) is removed by the next."""

import contextlib
import glob
import json
import os
import shutil
import tempfile
from pathlib import Path

from lecun1989.pipeline import inputs, lifetime
from lecun1989.pipeline.errors import OutputError, os_fix


def _tmp_name(target: Path) -> Path:
    return target.with_name(f".{target.name}.tmp-{os.getpid()}")


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def _sweep(target: Path) -> None:
    # "..name.tmp-*": the temp file of write_bytes into a staged scratch file (".name.tmp-<pid>")
    for pattern in (".{}.tmp-*", ".{}.old-*", "..{}.tmp-*"):
        for stale in target.parent.glob(pattern.format(glob.escape(target.name))):
            _remove(stale)


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
    """obj as JSON; a NaN or an infinity is never written (ValueError): no reader of ours accepts one."""
    write_bytes(target, (json.dumps(obj, indent=2, sort_keys=False, allow_nan=False) + "\n").encode())


def _scratch_folder(target: Path) -> Path:
    folder = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    umask = os.umask(0)
    os.umask(umask)
    folder.chmod(0o777 & ~umask)  # mkdtemp makes it 0700
    return folder


def _commit(pairs: list[tuple[Path, Path]]) -> None:
    """Rename every (new, target) pair into place; if one rename fails, undo the others."""
    moved, placed = [], []
    try:
        for new, target in pairs:
            if target.exists() or target.is_symlink():
                old = target.with_name(f".{target.name}.old-{os.getpid()}")
                os.replace(target, old)
                moved.append((target, old))
            os.replace(new, target)
            placed.append(target)
    except OSError:
        for target in placed:
            _remove(target)
        for target, old in moved:
            os.replace(old, target)
        raise
    for _, old in moved:
        _remove(old)


@contextlib.contextmanager
def staged(files=(), folders=()):
    """Yield {target: scratch path} for several outputs: a path beside it to write for each file
    (the block must write every one), an empty folder for each folder. When the block succeeds,
    every target is replaced by its scratch together; when it fails, none is, and the scratch vanishes."""
    files, folders = [Path(f) for f in files], [Path(f) for f in folders]
    created = []  # folders made for the outputs, innermost first: removed again on failure
    for target in files + folders:
        created += [p for p in [target.parent, *target.parent.parents] if not p.exists() and p not in created]
        target.parent.mkdir(parents=True, exist_ok=True)
        _sweep(target)
    scratch = {t: _tmp_name(t) for t in files} | {t: _scratch_folder(t) for t in folders}
    try:
        try:
            yield scratch
        except OSError as e:  # a full disk, a permission: one line, and nothing was replaced
            names = ", ".join(map(str, files + folders))
            raise OutputError(f"writing {names} failed ({e.strerror or e}); nothing was replaced: {os_fix(e)}") from None
        try:
            with lifetime.COMMITTING:
                inputs.check_current()  # what the outputs were computed from is still what is on disk
                _commit([(scratch[t], t) for t in files + folders])
        except OSError as e:
            names = ", ".join(map(str, files + folders))
            raise OutputError(f"replacing {names} failed ({e.strerror or e}); the previous outputs were put back: {os_fix(e)}") from None
        created = []
    finally:
        for path in scratch.values():
            if path.exists() or path.is_symlink():
                _remove(path)
        for folder in sorted(created, key=lambda p: len(p.parts), reverse=True):
            with contextlib.suppress(OSError):
                folder.rmdir()


@contextlib.contextmanager
def output_dir(target: str | Path):
    """Yield an empty scratch folder; on success it replaces `target` whole, on failure it vanishes."""
    with staged(folders=[target]) as scratch:
        yield scratch[Path(target)]
