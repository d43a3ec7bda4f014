"""Output paths are guarded: a stage replaces a path only if nothing is there, or what is there is
that stage's own output of the same kind (each format module declares its kind). Anything else, such
as a mistyped or swapped argument that points at data/, metrics/ or another stage's file, is refused
by name before the stage does any work, so a slip on the command line never deletes results."""

import os
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from lecun1989.pipeline import readers
from lecun1989.pipeline.errors import OutputError


class Kind(NamedTuple):
    what: str  # completes "exists and is not ...", e.g. "a model file"
    holds: Callable[[Path], bool]  # does this existing path hold an output of this kind?


def folder_of(what: str, allowed: Callable[[str], bool], required: str | None = None) -> Kind:
    """A folder whose every entry name is allowed, holding `required` unless it is empty."""

    def holds(path: Path) -> bool:
        names = [p.name for p in path.iterdir()] if path.is_dir() else None
        return names is not None and all(map(allowed, names)) and (not names or required is None or required in names)

    return Kind(what, holds)


def file_starting(what: str, prefix: bytes) -> Kind:
    def holds(path: Path) -> bool:
        if not path.is_file():
            return False
        with open(path, "rb") as f:
            return f.read(len(prefix)) == prefix

    return Kind(what, holds)


def json_with_key(what: str, key: str) -> Kind:
    def holds(path: Path) -> bool:
        try:
            return key in readers.json_file(path)
        except (OSError, readers.Unreadable, TypeError):
            return False

    return Kind(what, holds)


SCRATCH_SUFFIX = 16  # the scratch copy beside an output is named "..<name>.tmp-<pid>" (atomic.py)


def _name_max(path: Path) -> int:
    """The longest file name, in bytes, that the file system holding path (or its nearest existing
    parent) allows."""
    for folder in [path.parent, *path.parent.parents]:
        if folder.is_dir():
            try:
                return os.pathconf(folder, "PC_NAME_MAX")
            except (OSError, ValueError):
                break
    return 255


def name_fits(path: Path) -> None:
    """Refuse an output whose name, or that of a folder on its way, is longer than the file system
    allows (the output's own name with room for its scratch suffix): before any work, not after."""
    limit = _name_max(path)
    for i, part in enumerate(path.parts):
        size = len(os.fsencode(part)) + (SCRATCH_SUFFIX if i == len(path.parts) - 1 else 0)
        if size > limit:
            shown = Path(*path.parts[:i], part[:20] + "...")
            raise OutputError(
                f"{shown}: a name of {len(os.fsencode(part))} bytes, more than the file system allows here "
                f"({limit}, less {SCRATCH_SUFFIX} for the scratch copy): shorten the variant or dataset key in params.yaml"
            )


def _overlap(a: Path, b: Path) -> bool:
    return a == b or a in b.parents or b in a.parents


def inside_repository(path: Path) -> None:
    """Refuse an output that is, or leads through a symlink to, a place outside the repository (the
    folder the stage runs in, as DVC runs it): a stage never deletes or writes anything there."""
    root = Path.cwd().resolve()
    if not path.resolve().is_relative_to(root):
        via = " through a symlink" if path.is_symlink() or any(p.is_symlink() for p in path.parents) else ""
        raise OutputError(
            f"{path} leads outside the repository{via} (to {path.resolve()}): not writing there; give an output path inside {root}"
        )
    if path.is_symlink():
        raise OutputError(f"{path} is a symlink (to {path.readlink()}): not replacing it; remove the link or give another output path")


def check(outputs: dict, inputs=()) -> None:
    """Refuse, naming the path, any output outside the repository or that is a symlink, any output
    that holds something other than its kind, and any output that overlaps another output or an input."""
    for path, kind in outputs.items():
        path = Path(path)
        name_fits(path)
        inside_repository(path)
        if (path.exists() or path.is_symlink()) and not kind.holds(path):
            raise OutputError(f"{path} exists and is not {kind.what}: not replacing it; move it away or give another output path")
    resolved = {Path(p): Path(p).resolve() for p in outputs}
    for i, (path, real) in enumerate(resolved.items()):
        others = [*list(resolved.items())[i + 1 :], *((Path(p), Path(p).resolve()) for p in inputs)]
        for other, other_real in others:
            if _overlap(real, other_real):
                raise OutputError(f"{path} and {other} are the same path or one holds the other: give each output its own path")
