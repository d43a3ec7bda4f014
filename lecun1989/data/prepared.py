"""The prepared 16x16 data set on disk: one .npy per array plus a manifest of their SHA-256 digests,
so that a truncated or edited file is refused by name instead of being trained on."""

import hashlib
import io
import json
from pathlib import Path

import numpy as np

from lecun1989.pipeline.atomic import output_dir, write_bytes, write_json
from lecun1989.pipeline.errors import DataError

SPLITS = ("train", "val", "test")
MANIFEST = "manifest.json"


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


def load(prepared_dir) -> dict[str, dict[str, np.ndarray]]:
    """One draw's folder (draw_dir), checked against its manifest: {split: {"x", "y", "index"}}."""
    prepared_dir = Path(prepared_dir)
    manifest_path = prepared_dir / MANIFEST
    if not manifest_path.is_file():
        raise DataError(f"{manifest_path} is missing; run the preprocess stage first (dvc repro preprocess)")
    try:
        manifest = json.loads(manifest_path.read_text())
    except json.JSONDecodeError as e:
        raise DataError(f"{manifest_path} is corrupted ({e}); rerun: dvc repro -f preprocess") from None
    splits = {split: {} for split in SPLITS}
    for name, entry in manifest.items():
        path = prepared_dir / name
        if not path.is_file():
            raise DataError(f"{path} is missing; rerun: dvc repro -f preprocess")
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != entry["sha256"]:
            raise DataError(f"{path} does not match its digest in {MANIFEST} (truncated or edited); rerun: dvc repro -f preprocess")
        array = np.load(io.BytesIO(data), allow_pickle=False)
        split, key = name.removesuffix(".npy").split("_", 1)
        splits[split][key] = array
    for split in SPLITS:
        x, y = splits[split].get("x"), splits[split].get("y")
        if x is None or y is None or x.ndim != 3 or x.shape[1:] != (16, 16) or y.shape != x.shape[:1]:
            raise DataError(f"{prepared_dir}: {split} split is incomplete or misshapen; rerun: dvc repro -f preprocess")
        if not np.isfinite(x).all() or x.min() < -1 or x.max() > 1 or y.max() > 9:
            raise DataError(f"{prepared_dir}: {split} values out of range; rerun: dvc repro -f preprocess")
    return splits
