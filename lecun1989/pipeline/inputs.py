"""What a stage started from: the digest of every input file it read (its params file, the prepared
data's manifest, the model), recorded as it reads them and checked again just before its outputs
replace the old ones (atomic.staged). A stage whose params or inputs changed while it ran (an edit,
another run that finished first) commits nothing: its outputs would describe a state that is gone."""

import hashlib
from pathlib import Path

from lecun1989.pipeline.errors import OutputError

_read: dict[Path, tuple[Path, str]] = {}  # resolved path -> (path as given, SHA-256 of the bytes read)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def record(path: str | Path, data: bytes) -> None:
    _read[Path(path).resolve()] = (Path(path), _digest(data))


def forget() -> None:
    _read.clear()


def check_current() -> None:
    """Refuse, naming the file, if any input read by this process has changed or gone since."""
    for path, (given, digest) in _read.items():
        try:
            now = _digest(path.read_bytes())
        except OSError:
            now = None
        if now != digest:
            raise OutputError(
                f"{given} changed while this stage ran, so its results describe inputs that are gone; nothing was replaced: "
                "rerun the stage (dvc repro)"
            )
