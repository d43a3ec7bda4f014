"""Failures under DVC leave every previous output in place and touch nothing outside the repository:
the outputs are `persist: true`, so DVC no longer deletes them before the stage has checked its
params, environment and paths, and a stage ends with the `dvc` that started it. Each case runs DVC
on a private copy of the reproduced tiny pipeline; the folders outside it are made under tmp_path."""

import os
import signal
import subprocess
import time
from pathlib import Path

import pipeline
import pytest
import yaml

pytestmark = pytest.mark.pipeline  # runs stages, DVC or make as processes

PROTECTED = ("data", "models", "metrics")


def snapshot(repo: Path) -> dict:
    return {folder: pipeline.tree_bytes(repo / folder) for folder in PROTECTED}


def edit_params(repo: Path, edit) -> None:
    params = yaml.safe_load((repo / "params.yaml").read_text())
    edit(params)
    pipeline.write_params(repo, params)


def test_a_path_as_dataset_key_deletes_nothing_outside(tiny_repo, tmp_path):
    """`dvc repro -s preprocess` skips check_params; DVC expands data/prepared/${key} itself."""
    victim = tmp_path / "victim"  # data/prepared/../../../victim from the repository tiny_repo
    victim.mkdir()
    (victim / "precious.txt").write_text("keep me")
    assert (tiny_repo / "data/prepared/../../../victim").resolve() == victim
    edit_params(tiny_repo, lambda p: p["datasets"].update({"../../../victim": p["datasets"]["zip1989"]}))
    before = snapshot(tiny_repo)
    result = pipeline.run(["dvc", "repro", "-s", "preprocess"], tiny_repo, check=False)
    # DVC stops before the stage runs (it leaves persist outputs in place, and one outside the
    # repository fails its own check); without -s, check_params names the key first.
    assert result.returncode != 0 and "failed to reproduce 'preprocess@../../../victim'" in result.stderr, result.stderr
    assert (victim / "precious.txt").read_text() == "keep me"
    assert snapshot(tiny_repo) == before
    result = pipeline.run(["dvc", "repro"], tiny_repo, check=False)
    assert result.returncode != 0 and "params error: params.yaml: datasets.../../../victim.[key]" in result.stderr, result.stderr
    assert (victim / "precious.txt").read_text() == "keep me"


def test_failed_stages_leave_their_outputs(tiny_repo):
    """A refused environment value, refused params run with -s, and a full disk (the model cannot
    be written): the model, the curves and every cache: false output stay as they were."""
    before = snapshot(tiny_repo)
    env = {**pipeline.env(), "LECUN1989_ENGINE": "bogus"}
    refused = subprocess.run(["dvc", "repro", "-f", "-s", "train@lecun1989"], cwd=tiny_repo, env=env, capture_output=True, text=True)
    assert refused.returncode != 0 and "LECUN1989_ENGINE='bogus'" in refused.stderr + refused.stdout
    assert snapshot(tiny_repo) == before

    edit_params(tiny_repo, lambda p: p["variants"]["lecun1989"].update(lr=-1.0))
    refused = pipeline.run(["dvc", "repro", "-s", "train@lecun1989"], tiny_repo, check=False)
    assert refused.returncode != 0 and "variants.lecun1989.lr = -1.0" in refused.stderr + refused.stdout
    refused = pipeline.run(["dvc", "repro", "-s", "evaluate@lecun1989", "report"], tiny_repo, check=False)
    assert refused.returncode != 0
    assert snapshot(tiny_repo) == before


def test_a_symlink_out_of_the_repository_is_not_followed(tiny_repo, tmp_path):
    """data/prepared/zip1989 is a link to a prepared folder outside: the stage must not write there."""
    prepared = tiny_repo / "data/prepared/zip1989"
    outside = tmp_path / "outside"
    prepared.rename(outside)
    outside.chmod(0o755)
    before = pipeline.tree_bytes(outside)
    prepared.symlink_to(outside)
    result = pipeline.run(["dvc", "repro", "-f", "-s", "preprocess@zip1989"], tiny_repo, check=False)
    assert result.returncode != 0
    assert "data/prepared/zip1989 leads outside the repository through a symlink" in result.stdout + result.stderr
    assert oct(outside.stat().st_mode & 0o777) == oct(0o755)
    assert pipeline.tree_bytes(outside) == before


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _descendants(pid: int) -> list[int]:
    kids = _children(pid)
    return kids + [d for k in kids for d in _descendants(k)]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_stage_does_not_outlive_the_dvc_that_started_it(tiny_repo):
    """Only `dvc` is killed (SIGKILL), not its process group: the train stage must end too, without
    replacing the model (else a later run's outputs would be overwritten by this orphan's)."""
    epochs = 40
    edit_params(tiny_repo, lambda p: p["variants"]["lecun1989"].update(epochs=epochs))
    model = tiny_repo / "models/lecun1989.msgpack"
    old_model = model.read_bytes()
    proc = subprocess.Popen(
        ["dvc", "repro", "train@lecun1989"], cwd=tiny_repo, env=pipeline.env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    stages = []
    try:
        for line in proc.stderr:
            if f"lecun1989 epoch 1/{epochs}" in line:
                break
        stages = [p for p in _descendants(proc.pid) if "stages.train" in Path(f"/proc/{p}/cmdline").read_text()]
        assert stages, "no train stage found under dvc"
        proc.send_signal(signal.SIGKILL)  # dvc alone
        proc.wait()
        deadline = time.monotonic() + 10
        while any(map(_alive, stages)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(map(_alive, stages)), "the train stage outlived dvc"
    finally:
        for pid in stages:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        proc.stderr.close()
    assert model.read_bytes() == old_model
