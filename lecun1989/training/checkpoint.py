"""Model files: the stacked parameters of every run of a variant and the engine that trained them,
Flax msgpack (deterministic bytes): {"params": the Flax pytree with a leading run axis, "trained_by": str}.

A model is loaded only if it is what the train stage wrote: where dvc.lock (in the folder the stage
runs in) lists the file as an output of a train stage, its bytes must have the MD5 recorded there (DVC
writes that entry when the train stage that wrote the file succeeds, before any evaluate stage runs).
dvc.lock is the record the pipeline already keeps and commits, so no second digest file can drift
from it; a model trained by hand to a path dvc.lock does not list is checked for shape and finiteness
only. Every weight must be finite."""

import hashlib
from pathlib import Path

import jax
import numpy as np
from flax import serialization

from lecun1989.pipeline import dvc_state, guard, inputs
from lecun1989.pipeline.atomic import write_bytes
from lecun1989.pipeline.errors import DataError


def _restore(path: Path):
    return serialization.msgpack_restore(path.read_bytes())


def _is_model_file(path: Path) -> bool:
    try:
        return path.is_file() and isinstance(_restore(path), dict)
    except Exception:  # msgpack raises several unrelated types on other input
        return False


KIND = guard.Kind("a model file (Flax msgpack, the train stage's output)", _is_model_file)


def save(path, params, trained_by: str) -> None:
    write_bytes(path, serialization.msgpack_serialize({"params": jax.tree.map(np.asarray, params), "trained_by": trained_by}))


def template(variant, n_runs: int) -> dict:
    """Shapes and dtypes of a model file's parameters: the Flax model's, with a leading run axis."""
    from lecun1989.network import model

    one = jax.eval_shape(lambda: model.build(variant).init(jax.random.PRNGKey(0), np.zeros((1, 16, 16), np.float32))["params"])
    return jax.tree.map(lambda a: jax.ShapeDtypeStruct((n_runs, *a.shape), a.dtype), one)


def load(path, variant, n_runs: int) -> tuple[dict, str]:
    """(parameters, the engine that trained them) from `path`, refused unless every array has the
    shape and dtype this variant's n_runs runs have."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path} is missing; run the train stage first (dvc repro)")
    data = path.read_bytes()
    inputs.record(path, data)
    check_recorded(path, data)
    try:
        content = serialization.msgpack_restore(data)
    except Exception as e:  # msgpack raises several unrelated types on corrupt input
        raise DataError(f"{path} is not a readable model file ({type(e).__name__}: {e}); rerun the train stage") from None
    if not isinstance(content, dict) or not isinstance(content.get("params"), dict) or not isinstance(content.get("trained_by"), str):
        raise DataError(f"{path} is not a model file of the train stage (no params and trained_by); rerun the train stage")
    params = content["params"]
    expected = jax.tree.map(lambda a: (tuple(a.shape), str(a.dtype)), template(variant, n_runs))
    got = jax.tree.map(lambda a: (tuple(np.shape(a)), str(np.asarray(a).dtype)), params)
    if jax.tree.structure(expected) != jax.tree.structure(got) or expected != got:
        raise DataError(f"{path} does not hold this variant's parameters (layers, shapes or run count differ); rerun the train stage")
    if not all(np.isfinite(np.asarray(a)).all() for a in jax.tree.leaves(params)):
        raise DataError(f"{path} holds a weight that is NaN or infinite (no train stage writes one): rerun the train stage")
    return params, content["trained_by"]


def recorded_md5(path: Path, lock: Path = Path("dvc.lock")) -> tuple[str, str] | None:
    """(train stage, MD5) that dvc.lock records for the model file `path`, or None if it lists none."""
    if not lock.is_file():
        return None
    stages = dvc_state.lock_stages(lock.parent)  # a damaged dvc.lock is refused, not skipped
    try:
        rel = path.resolve().relative_to(lock.resolve().parent).as_posix()
    except ValueError:
        return None
    for name, stage in stages.items():
        for out in (stage or {}).get("outs", []) if name.startswith("train@") else []:
            if out.get("path") == rel and "md5" in out:
                return name, out["md5"]
    return None


def check_recorded(path: Path, data: bytes) -> None:
    """Refuse a model file whose bytes are not those dvc.lock records for it (damaged or replaced)."""
    recorded = recorded_md5(path)
    if recorded is not None and hashlib.md5(data).hexdigest() != recorded[1]:
        stage, md5 = recorded
        raise DataError(
            f"{path} is not the model {stage} wrote (MD5 {hashlib.md5(data).hexdigest()}, dvc.lock records {md5}): "
            f"damaged or replaced; restore it (dvc checkout {path}) or retrain (dvc repro -f {stage})"
        )
