"""Model files: the stacked parameters of every seed of a variant, Flax msgpack (deterministic bytes)."""

from pathlib import Path

import jax
import numpy as np
from flax import serialization

from lecun1989.pipeline import guard
from lecun1989.pipeline.atomic import write_bytes
from lecun1989.pipeline.errors import DataError


def _is_model_file(path: Path) -> bool:
    try:
        return path.is_file() and isinstance(serialization.msgpack_restore(path.read_bytes()), dict)
    except Exception:  # msgpack raises several unrelated types on other input
        return False


KIND = guard.Kind("a model file (Flax msgpack, the train stage's output)", _is_model_file)


def save(path, params) -> None:
    write_bytes(path, serialization.msgpack_serialize(jax.tree.map(np.asarray, params)))


def load(path, template) -> dict:
    """Parameters from `path`, refused unless every array has the shape and dtype of `template`."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path} is missing; run the train stage first (dvc repro)")
    try:
        params = serialization.msgpack_restore(path.read_bytes())
    except Exception as e:  # msgpack raises several unrelated types on corrupt input
        raise DataError(f"{path} is not a readable model file ({type(e).__name__}: {e}); rerun the train stage") from None
    expected = jax.tree.map(lambda a: (tuple(a.shape), str(a.dtype)), template)
    got = jax.tree.map(lambda a: (tuple(np.shape(a)), str(np.asarray(a).dtype)), params)
    if jax.tree.structure(expected) != jax.tree.structure(got) or expected != got:
        raise DataError(f"{path} does not hold this variant's parameters (layers, shapes or seed count differ); rerun the train stage")
    return params
