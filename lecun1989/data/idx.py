"""The IDX file format of the original MNIST distribution (uint8 arrays only)."""

import hashlib
import math
from pathlib import Path

import numpy as np

from lecun1989.pipeline import output_guard
from lecun1989.pipeline.errors import DataError

UBYTE = 0x08

# The four files torchvision's datasets.MNIST reads from <root>/MNIST/raw/.
FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
RAW_KIND = output_guard.folder_of("a folder of MNIST IDX files (the download stage's output)", lambda name: name in FILES.values())

# SHA-256 of each decoded array's bytes (C order, uint8): both sources must give exactly these.
DIGESTS = {
    "train_images": "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757",
    "train_labels": "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13",
    "test_images": "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161",
    "test_labels": "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5",
}
SHAPES = {
    "train_images": (60000, 28, 28),
    "train_labels": (60000,),
    "test_images": (10000, 28, 28),
    "test_labels": (10000,),
}


def encode(array: np.ndarray) -> bytes:
    if array.dtype != np.uint8:
        raise ValueError(f"IDX writer takes uint8 arrays, got {array.dtype}")
    header = bytes([0, 0, UBYTE, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + np.ascontiguousarray(array).tobytes()


def decode(data: bytes, source: str = "<bytes>") -> np.ndarray:
    if len(data) < 4 or data[:2] != b"\0\0" or data[2] != UBYTE:
        raise DataError(f"{source}: not a uint8 IDX file (bad magic number)")
    ndim = data[3]
    start = 4 + 4 * ndim
    if len(data) < start:
        raise DataError(f"{source}: truncated IDX header")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = start + math.prod(shape)  # exact: numpy's product wraps around for a crafted header
    if len(data) != expected:
        raise DataError(f"{source}: {len(data)} bytes, the header promises {expected} (truncated or padded file)")
    return np.frombuffer(data, np.uint8, offset=start).reshape(shape)


def digest(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def check(name: str, array: np.ndarray, where: str) -> np.ndarray:
    """Refuse an array that is not byte-identical to the original MNIST set `name`."""
    if array.shape != SHAPES[name] or array.dtype != np.uint8:
        raise DataError(f"{where}: {name} has shape {array.shape} {array.dtype}, expected {SHAPES[name]} uint8")
    got = digest(array)
    if got != DIGESTS[name]:
        raise DataError(
            f"{where}: {name} has SHA-256 {got}, expected {DIGESTS[name]}: the data is corrupted or not "
            "the original MNIST; delete it and rerun the download stage (dvc repro -s -f download)"
        )
    return array


def read_raw(raw_dir: str | Path, verify: bool = True) -> dict[str, np.ndarray]:
    """The four MNIST arrays of a raw/ folder, each checked against its pinned digest."""
    raw_dir = Path(raw_dir)
    arrays = {}
    for name, filename in FILES.items():
        path = raw_dir / filename
        if not path.is_file():
            raise DataError(f"{path} is missing; run the download stage first (dvc repro download)")
        arrays[name] = decode(path.read_bytes(), str(path))
        if verify:
            check(name, arrays[name], str(path))
    return arrays
