"""The prepared 16x16 data set on disk: one .npy per array plus a manifest of their SHA-256 digests,
so that a truncated or edited file is refused by name instead of being trained on."""

import hashlib
import io
from pathlib import Path

import numpy as np

from lecun1989.pipeline import inputs, output_guard, readers
from lecun1989.pipeline.atomic import output_dir, write_bytes, write_json
from lecun1989.pipeline.errors import DataError

SPLITS = ("train", "val", "test")
ARRAYS = ("x", "y", "index")
MANIFEST = "manifest.json"
NAMES = {f"{split}_{key}.npy": (split, key) for split in SPLITS for key in ARRAYS}  # every file of the folder
RERUN = "rerun: dvc repro -s -f preprocess"
# A dataset's prepared folder holds one draw_<draw>/ folder per subset draw.
KIND = output_guard.folder_of(
    "a prepared data folder (draw_<draw>/ folders of .npy files and their manifest.json)", lambda n: n.startswith("draw_")
)


def _npy_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    return buf.getvalue()


def draw_dir(prepared_dir, draw: int) -> Path:
    """The folder of one subset draw inside a dataset's prepared folder."""
    return Path(prepared_dir) / f"draw_{draw}"


def save(out_dir, draws: dict[int, dict[str, dict[str, np.ndarray]]]) -> None:
    """draws: {draw: {"train": {"x": float32 (n,16,16), "y": uint8 (n,), "index": int64 (n,)}, "val": ..., "test": ...}},
    one folder per draw (draw_<draw>/), each with its own manifest; out_dir is replaced whole."""
    with output_dir(out_dir) as scratch:
        for draw, splits in draws.items():
            folder = draw_dir(scratch, draw)
            manifest = {}
            for split, arrays in splits.items():
                for key, array in arrays.items():
                    data = _npy_bytes(array)
                    name = f"{split}_{key}.npy"
                    write_bytes(folder / name, data)
                    manifest[name] = {"sha256": hashlib.sha256(data).hexdigest(), "shape": list(array.shape), "dtype": str(array.dtype)}
            write_json(folder / MANIFEST, manifest)


def manifest_bytes(draw_folder) -> bytes:
    """The bytes of a draw's manifest (the SHA-256 of every array of the draw)."""
    path = Path(draw_folder) / MANIFEST
    if not path.is_file():
        raise DataError(f"{path} is missing; run the preprocess stage first (dvc repro preprocess)")
    data = path.read_bytes()
    inputs.record(path, data)
    return data


def _read_manifest(manifest_path: Path) -> dict[str, str]:
    """{file name: sha256} of a manifest that names exactly the files of NAMES: an entry can never
    point outside the folder, nor at a file the stages do not write."""
    if not manifest_path.is_file():
        raise DataError(f"{manifest_path} is missing; run the preprocess stage first (dvc repro preprocess)")
    try:
        data = readers.read_bytes(manifest_path)
        inputs.record(manifest_path, data)
        manifest = readers.parse_json(data)
    except readers.Unreadable as e:
        raise DataError(f"{manifest_path} is corrupted ({e}); {RERUN}") from None
    if not isinstance(manifest, dict):
        raise DataError(f"{manifest_path} is corrupted (a JSON {type(manifest).__name__}, not an object of file entries); {RERUN}")
    if set(manifest) != set(NAMES):
        odd = sorted(set(manifest) ^ set(NAMES))
        raise DataError(f"{manifest_path} does not list exactly the prepared files (unexpected or missing: {', '.join(odd)}); {RERUN}")
    digests = {}
    for name, entry in manifest.items():
        digest = entry.get("sha256") if isinstance(entry, dict) else None
        if not isinstance(digest, str):
            raise DataError(f"{manifest_path}: the entry of {name} has no sha256 digest; {RERUN}")
        digests[name] = digest
    return digests


def load(prepared_dir) -> dict[str, dict[str, np.ndarray]]:
    """One draw's folder (draw_dir), checked against its manifest: {split: {"x", "y", "index"}}."""
    prepared_dir = Path(prepared_dir)
    splits = {split: {} for split in SPLITS}
    for name, digest in _read_manifest(prepared_dir / MANIFEST).items():
        path = prepared_dir / name
        if not path.is_file():
            raise DataError(f"{path} is missing; {RERUN}")
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != digest:
            raise DataError(f"{path} does not match its digest in {MANIFEST} (truncated or edited); {RERUN}")
        try:
            array = np.load(io.BytesIO(data), allow_pickle=False)
        except ValueError as e:  # an object array (pickled Python objects), or not a .npy file at all
            raise DataError(f"{path} is not a plain numeric .npy array ({e}); {RERUN}") from None
        split, key = NAMES[name]
        splits[split][key] = array
    for split in SPLITS:
        x, y = splits[split]["x"], splits[split]["y"]
        if x.dtype.kind != "f" or y.dtype.kind not in "iu" or x.ndim != 3 or x.shape[1:] != (16, 16) or y.shape != x.shape[:1]:
            raise DataError(f"{prepared_dir}: {split} split is incomplete or misshapen; {RERUN}")
        if split != "val" and not len(x):  # only the validation split may be empty (USPS has none)
            raise DataError(f"{prepared_dir}: the {split} split holds no digits; {RERUN}")
        if len(x) and (not np.isfinite(x).all() or x.min() < -1 or x.max() > 1 or y.min() < 0 or y.max() > 9):
            raise DataError(f"{prepared_dir}: {split} values out of range; {RERUN}")
    return splits
