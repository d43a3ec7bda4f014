"""A stage replaces an output path only if it is missing or holds that stage's own output of the
same kind; anything else is refused by name before any work. A stage's outputs are replaced
together or not at all: a full disk while writing the model leaves both the old model and the old
curves."""

import errno
import subprocess
import sys

import pipeline
import pytest

from lecun1989.pipeline import atomic
from lecun1989.pipeline.errors import OutputError

PROTECTED = ("data", "models", "metrics")
EVAL_OUT = ["metrics/lecun1989.json", "metrics/per_run/lecun1989.json"]

MISTAKES = [  # stage, arguments, the path named, words of the refusal
    ("preprocess", ["zip1989", "data/MNIST/raw", "data/USPS/raw", "data"], "data", "not a prepared data folder"),
    ("download", ["data"], "data", "not a folder of MNIST IDX files"),
    ("train", ["lecun1989", "data/prepared/zip1989", "m.msgpack", "metrics"], "metrics", "not a DVCLive folder"),
    (
        "train",
        ["lecun1989", "data/prepared/zip1989", "metrics/curves/lecun1989", "models/lecun1989.msgpack"],
        "metrics/curves/lecun1989",
        "not a model file",
    ),
    (
        "train",
        ["lecun1989", "data/prepared/zip1989", "m.msgpack", "data/prepared/zip1989/curves"],
        "data/prepared/zip1989/curves",
        "one holds the other",
    ),
    (
        "preprocess",
        ["zip1989", "data/MNIST/raw", "data/USPS/raw", "data/MNIST/raw/prepared"],
        "data/MNIST/raw/prepared",
        "one holds the other",
    ),
    (
        "evaluate",
        ["lecun1989", "data/prepared/zip1989", "models/lecun1989.msgpack", "metrics/curves/lecun1989/metrics.json", EVAL_OUT[1]],
        "metrics/curves/lecun1989/metrics.json",
        "not a metrics file",
    ),
    (
        "evaluate",
        ["lecun1989", "data/prepared/zip1989", "models/lecun1989.msgpack", *EVAL_OUT, "--misread", "metrics/lecun1989.json"],
        "metrics/lecun1989.json",
        "not a PNG",
    ),
    (
        "evaluate",
        ["lecun1989", "data/prepared/zip1989", "models/lecun1989.msgpack", *EVAL_OUT, "--confusion", "models/lecun1989.msgpack"],
        "models/lecun1989.msgpack",
        "not a confusion CSV",
    ),
]


def snapshot(repo) -> dict:
    return {folder: pipeline.tree_bytes(repo / folder) for folder in PROTECTED}


def run_stage(stage, args, repo) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", f"stages.{stage}", *args]
    return subprocess.run(cmd, cwd=repo, env=pipeline.env(), capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("stage, args, path, words", MISTAKES, ids=[f"{m[0]}-{m[2]}" for m in MISTAKES])
def test_mistaken_output_path_refused_and_nothing_changes(tiny_repo, stage, args, path, words):
    before = snapshot(tiny_repo)
    result = run_stage(stage, args, tiny_repo)
    assert result.returncode == 3, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"output error: {path} "), result.stderr
    assert words in lines[0], lines[0]
    assert snapshot(tiny_repo) == before
    assert not (tiny_repo / "m.msgpack").exists()


def test_a_stage_replaces_its_own_output(tiny_repo):
    before = snapshot(tiny_repo)
    result = run_stage("preprocess", ["zip1989", "data/MNIST/raw", "data/USPS/raw", "data/prepared/zip1989"], tiny_repo)
    assert result.returncode == 0, result.stderr
    assert snapshot(tiny_repo) == before  # same params: the same bytes, in place


def test_disk_full_while_writing_the_model_keeps_model_and_curves(tiny_repo):
    """The model is written after training, beside the new curves: a failure there (here, a full
    disk simulated in checkpoint.save) must leave the old model and the old curves, one line."""
    before = snapshot(tiny_repo)
    args = ["lecun1989", "data/prepared/zip1989", "models/lecun1989.msgpack", "metrics/curves/lecun1989", "--quiet"]
    script = (
        "import errno, runpy, sys\n"
        "from lecun1989.training import checkpoint\n"
        "def full(path, *args):\n"
        "    open(path, 'wb').write(b'half')\n"
        f"    raise OSError({errno.ENOSPC}, 'No space left on device')\n"
        "checkpoint.save = full\n"
        f"sys.argv = ['train', *{args!r}]\n"
        "runpy.run_module('stages.train', run_name='__main__')\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=tiny_repo, env=pipeline.env(), capture_output=True, text=True, timeout=600)
    assert result.returncode == 3, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("output error: writing models/lecun1989.msgpack, metrics/curves/lecun1989 failed (No space left on device)")
    assert "Traceback" not in result.stderr, result.stderr
    assert snapshot(tiny_repo) == before
    assert not [p for p in (tiny_repo / "models").iterdir() if ".tmp-" in p.name or ".old-" in p.name]


# --- the multi-output commit itself ------------------------------------------------------------


def old_outputs(tmp_path):
    model, curves = tmp_path / "models/m.msgpack", tmp_path / "curves"
    model.parent.mkdir()
    model.write_bytes(b"old model")
    curves.mkdir()
    (curves / "metrics.json").write_text("old curves")
    return model, curves


def test_staged_replaces_every_output_together(tmp_path):
    model, curves = old_outputs(tmp_path)
    with atomic.staged(files=[model], folders=[curves]) as scratch:
        (scratch[curves] / "metrics.json").write_text("new curves")
        atomic.write_bytes(scratch[model], b"new model")
        assert model.read_bytes() == b"old model"  # nothing is in place before the block ends
    assert model.read_bytes() == b"new model" and (curves / "metrics.json").read_text() == "new curves"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curves", "models"]
    assert sorted(p.name for p in model.parent.iterdir()) == ["m.msgpack"]


def test_staged_failure_replaces_nothing(tmp_path):
    model, curves = old_outputs(tmp_path)
    with pytest.raises(OutputError, match="nothing was replaced"), atomic.staged(files=[model], folders=[curves]) as scratch:
        (scratch[curves] / "metrics.json").write_text("new curves")
        raise OSError(errno.ENOSPC, "No space left on device")
    assert model.read_bytes() == b"old model" and (curves / "metrics.json").read_text() == "old curves"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curves", "models"]


def test_staged_undoes_a_half_done_commit(tmp_path, monkeypatch):
    """If a rename fails between the outputs (a second one refused), the first is put back."""
    model, curves = old_outputs(tmp_path)
    real_replace, calls = atomic.os.replace, []

    def replace(src, dst):
        calls.append(dst)
        if len(calls) == 4:  # model aside, model in, curves aside, then the new curves in: fail
            raise OSError(errno.EACCES, "Permission denied")
        real_replace(src, dst)

    monkeypatch.setattr(atomic.os, "replace", replace)
    with pytest.raises(OutputError, match="previous outputs were put back"), atomic.staged(files=[model], folders=[curves]) as scratch:
        (scratch[curves] / "metrics.json").write_text("new curves")
        scratch[model].write_bytes(b"new model")
    assert model.read_bytes() == b"old model" and (curves / "metrics.json").read_text() == "old curves"


# --- a stage writes only its own outputs, as dvc.yaml declares them ---------------------------------

OWN_EVAL = ["metrics/per_run/lecun1989.json"]
OTHER_STAGES = [  # stage, arguments, the path named, whose output it is
    (
        "evaluate",
        ["lecun1989", "data/prepared/zip1989", "models/lecun1989.msgpack", "metrics/change4_relu_dropout.json", *OWN_EVAL],
        "metrics/change4_relu_dropout.json",
        "evaluate@change4_relu_dropout",
    ),
    (
        "evaluate",
        ["lecun1989", "data/prepared/zip1989", "models/lecun1989.msgpack", "metrics/lecun1989.json", *OWN_EVAL]
        + ["--confusion", "metrics/confusion/change4_relu_dropout.csv"],
        "metrics/confusion/change4_relu_dropout.csv",
        "evaluate@change4_relu_dropout",
    ),
    (
        "train",
        ["lecun1989", "data/prepared/zip1989", "models/change4_relu_dropout.msgpack", "metrics/curves/change4_relu_dropout"],
        "models/change4_relu_dropout.msgpack",
        "train@change4_relu_dropout",
    ),
    ("preprocess", ["zip1989", "data/MNIST/raw", "data/USPS/raw", "data/prepared/elsewhere"], "data/prepared/elsewhere", None),
]


@pytest.mark.parametrize("stage, args, path, owner", OTHER_STAGES, ids=[f"{m[0]}-{m[2]}" for m in OTHER_STAGES])
def test_another_stages_output_is_refused_and_nothing_changes(tiny_repo, stage, args, path, owner):
    """The path holds an output of the right kind, or nothing: only dvc.yaml tells whose it is."""
    before = snapshot(tiny_repo)
    result = run_stage(stage, args, tiny_repo)
    assert snapshot(tiny_repo) == before
    assert result.returncode == 3, result.stderr
    line = result.stderr.strip()
    assert line.startswith(f"output error: {path} is not an output of {stage}@{args[0]} in dvc.yaml"), result.stderr
    assert (f"it is {owner}'s" if owner else "no stage declares it") in line and "\n" not in line, line
