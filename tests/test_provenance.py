"""A model is scored only by the params and data it was trained with, and a stage reads prepared
data only as its preprocess stage wrote it (dvc.lock's record): each case runs on a private copy of
the reproduced tiny pipeline and leaves every output as it was."""

import hashlib
import json
import sys

import numpy as np
import pipeline
import pytest
import yaml

pytestmark = pytest.mark.pipeline  # runs DVC and stages as processes

PROTECTED = ("data", "models", "metrics")
EVALUATE = ["data/prepared/zip1989", "models/lecun1989.msgpack", "metrics/lecun1989.json", "metrics/per_run/lecun1989.json"]


def snapshot(repo) -> dict:
    return {folder: pipeline.tree_bytes(repo / folder) for folder in PROTECTED}


def refused(repo, cmd, words: str) -> None:
    """cmd fails with one line holding `words` and changes no output."""
    before = snapshot(repo)
    result = pipeline.run(cmd, repo, check=False)
    out = result.stdout + result.stderr
    assert snapshot(repo) == before
    assert result.returncode != 0 and words in out, out


@pytest.mark.parametrize("change", [{"activation": "relu"}, {"lr": 0.1}], ids=["activation", "lr"])
def test_a_model_is_not_scored_with_params_it_was_not_trained_with(tiny_repo, change):
    params = yaml.safe_load((tiny_repo / "params.yaml").read_text())
    params["variants"]["lecun1989"].update(change)
    pipeline.write_params(tiny_repo, params)
    words = "models/lecun1989.msgpack was trained with other params than variants.lecun1989 and its dataset have in params.yaml now"
    refused(tiny_repo, ["dvc", "repro", "-s", "evaluate@lecun1989"], f"{words}: retrain it (dvc repro train@lecun1989)")


def test_another_variants_model_is_refused(tiny_repo):
    model = "models/change4_relu_dropout.msgpack"  # the same layers and run count as lecun1989's
    cmd = [sys.executable, "-m", "stages.evaluate", "lecun1989", EVALUATE[0], model, *EVALUATE[2:]]
    refused(tiny_repo, cmd, f"{model} is the model of variant 'change4_relu_dropout', not of lecun1989")


def edit_prepared_with_its_manifest(repo) -> None:
    """One test label of draw 42 changed, and the manifest's digest of it with it: consistent, but not what preprocess wrote."""
    draw = repo / "data/prepared/zip1989/draw_42"
    labels = np.load(draw / "test_y.npy")
    labels[0] = (labels[0] + 1) % 10
    np.save(draw / "test_y.npy", labels)
    manifest = json.loads((draw / "manifest.json").read_text())
    manifest["test_y.npy"]["sha256"] = hashlib.sha256((draw / "test_y.npy").read_bytes()).hexdigest()
    (draw / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")


@pytest.mark.parametrize("stage", ["evaluate@lecun1989", "train@lecun1989"])
def test_prepared_data_edited_with_its_manifest_is_refused(tiny_repo, stage):
    edit_prepared_with_its_manifest(tiny_repo)
    refused(tiny_repo, ["dvc", "repro", "-s", stage], "data/prepared/zip1989 is not the prepared data preprocess@zip1989 wrote")


@pytest.mark.parametrize("lock", ["stages: [", "schema: '2.0'\nstages: {}\n"], ids=["malformed", "no-record"])
def test_a_damaged_lock_fails_closed(tiny_repo, lock):
    (tiny_repo / "dvc.lock").write_text(lock)
    cmd = [sys.executable, "-m", "stages.evaluate", "lecun1989", *EVALUATE]
    refused(tiny_repo, cmd, "dvc.lock is unreadable or malformed" if "[" in lock else "dvc.lock has no record of data/prepared/zip1989")


def test_a_model_records_what_it_was_trained_from(tiny_repo):
    from flax import serialization

    from lecun1989.data.variant_runs import trained_on, variant_runs

    content = serialization.msgpack_restore((tiny_repo / "models/lecun1989.msgpack").read_bytes())
    runs = variant_runs("lecun1989", tiny_repo / "params.yaml")
    assert content["trained_on"] == trained_on(runs, tiny_repo / "data/prepared/zip1989")
    assert set(content["trained_on"]["prepared"]) == {"draw_42", "draw_43"}
