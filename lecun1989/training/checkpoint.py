"""Model files: the stacked parameters of every run of a variant, the engine that trained them and
what they were trained from, Flax msgpack (deterministic bytes): {"params": the Flax pytree with a
leading run axis, "trained_by": str, "trained_on": {"variant": its name, "params_sha256": the SHA-256
of its params entry and its dataset's, "prepared": {"draw_<draw>": SHA-256 of that draw's manifest}}}
(data/variant_runs.py, trained_on).

A model is scored only as what it is: its bytes must have the MD5 that dvc.lock records for the file
as the output of its train stage (pipeline/lockfile.py: refused also when that record is missing or
malformed, except where DVC never ran), and what it was trained from must be the variant, params and
prepared data it is evaluated with (else: retrain it). Every weight must be finite."""

from pathlib import Path

import jax
import numpy as np
from flax import serialization

from lecun1989.pipeline import inputs, lockfile, output_guard
from lecun1989.pipeline.atomic import write_bytes
from lecun1989.pipeline.errors import DataError


def _restore(path: Path):
    return serialization.msgpack_restore(path.read_bytes())


def _is_model_file(path: Path) -> bool:
    try:
        return path.is_file() and isinstance(_restore(path), dict)
    except Exception:  # msgpack raises several unrelated types on other input
        return False


KIND = output_guard.Kind("a model file (Flax msgpack, the train stage's output)", _is_model_file)


def save(path, params, trained_by: str, trained_on: dict) -> None:
    content = {"params": jax.tree.map(np.asarray, params), "trained_by": trained_by, "trained_on": trained_on}
    write_bytes(path, serialization.msgpack_serialize(content))


def template(variant, n_runs: int) -> dict:
    """Shapes and dtypes of a model file's parameters: the Flax model's, with a leading run axis."""
    from lecun1989.network import model

    one = jax.eval_shape(lambda: model.build(variant).init(jax.random.PRNGKey(0), np.zeros((1, 16, 16), np.float32))["params"])
    return jax.tree.map(lambda a: jax.ShapeDtypeStruct((n_runs, *a.shape), a.dtype), one)


def check_trained_on(path: Path, recorded, expected: dict) -> None:
    """Refuse a model trained for another variant, with other params or on other prepared data."""
    name = expected["variant"]
    retrain = f"retrain it (dvc repro train@{name})"
    if not isinstance(recorded, dict) or set(recorded) != set(expected):
        raise DataError(f"{path} does not record the variant, params and prepared data it was trained on: {retrain}")
    if recorded["variant"] != name:
        raise DataError(f"{path} is the model of variant {recorded['variant']!r}, not of {name}: give {name}'s model, or {retrain}")
    if recorded["params_sha256"] != expected["params_sha256"]:
        raise DataError(f"{path} was trained with other params than variants.{name} and its dataset have in params.yaml now: {retrain}")
    if recorded["prepared"] != expected["prepared"]:
        raise DataError(f"{path} was trained on other prepared data than it is evaluated on (a draw's manifest differs): {retrain}")


def load(path, variant, n_runs: int, trained_on: dict) -> tuple[dict, str]:
    """(parameters, the engine that trained them) from `path`, refused unless it was trained from
    `trained_on` (variant_runs.trained_on), dvc.lock records its bytes and every array has the shape
    and dtype this variant's n_runs runs have."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path} is missing; run the train stage first (dvc repro)")
    data = path.read_bytes()
    inputs.record(path, data)
    try:
        content = serialization.msgpack_restore(data)
    except Exception as e:  # msgpack raises several unrelated types on corrupt input
        raise DataError(f"{path} is not a readable model file ({type(e).__name__}: {e}); rerun the train stage") from None
    if not isinstance(content, dict) or not isinstance(content.get("params"), dict) or not isinstance(content.get("trained_by"), str):
        raise DataError(f"{path} is not a model file of the train stage (no params and trained_by); rerun the train stage")
    check_trained_on(path, content.get("trained_on"), trained_on)
    lockfile.check(path, f"train@{trained_on['variant']}", "the model", data)
    params = content["params"]
    expected = jax.tree.map(lambda a: (tuple(a.shape), str(a.dtype)), template(variant, n_runs))
    got = jax.tree.map(lambda a: (tuple(np.shape(a)), str(np.asarray(a).dtype)), params)
    if jax.tree.structure(expected) != jax.tree.structure(got) or expected != got:
        raise DataError(f"{path} does not hold this variant's parameters (layers, shapes or run count differ); rerun the train stage")
    if not all(np.isfinite(np.asarray(a)).all() for a in jax.tree.leaves(params)):
        raise DataError(f"{path} holds a weight that is NaN or infinite (no train stage writes one): rerun the train stage")
    return params, content["trained_by"]
