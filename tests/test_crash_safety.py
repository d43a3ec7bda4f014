"""A stage killed at any moment leaves the old output or none, and the next `dvc repro` completes."""

import os
import signal
import subprocess
import sys
import time

import pipeline
import pytest
import yaml
from pipeline import ROOT

from lecun1989.pipeline import atomic


def test_failed_output_dir_keeps_the_old_output(tmp_path):
    target = tmp_path / "out"
    with atomic.output_dir(target) as scratch:
        (scratch / "a").write_text("old")
    with pytest.raises(RuntimeError), atomic.output_dir(target) as scratch:
        (scratch / "a").write_text("half")
        raise RuntimeError("killed")
    assert (target / "a").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_leftovers_of_a_killed_run_are_swept(tmp_path):
    """SIGKILL skips every finally: the temp file or folder stays, and the next write removes it."""
    stale = [tmp_path / ".m.bin.tmp-99999", tmp_path / ".prepared.tmp-x1y2", tmp_path / ".prepared.old-99999"]
    stale[0].write_bytes(b"half")
    for folder in stale[1:]:
        folder.mkdir()
        (folder / "x.npy").write_bytes(b"half")
    (tmp_path / ".other.tmp-1").write_bytes(b"not ours")
    atomic.write_bytes(tmp_path / "m.bin", b"new")
    with atomic.output_dir(tmp_path / "prepared") as scratch:
        (scratch / "x.npy").write_bytes(b"new")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.tmp-1", "m.bin", "prepared"]


def group_gone(pgid: int, within_s: float = 10) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def test_train_killed_mid_epoch_then_repro_completes(tiny_repo, tmp_path):
    epochs = 20  # ~0.1-0.3 s each on tiny data: the kill after epoch 1 lands well before the end
    params = yaml.safe_load((tiny_repo / "params.yaml").read_text())
    params["variants"]["lecun1989"]["epochs"] = epochs
    pipeline.write_params(tiny_repo, params)
    model = tiny_repo / "models/lecun1989.msgpack"
    old_model = model.read_bytes()

    proc = subprocess.Popen(
        ["dvc", "repro", "train@lecun1989"],
        cwd=tiny_repo,
        env=pipeline.env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        seen = []
        for line in proc.stderr:  # the stage's progress line: epoch 2 has just begun
            seen.append(line)
            if f"lecun1989 epoch 1/{epochs}" in line:
                break
        os.killpg(proc.pid, signal.SIGKILL)  # dvc and the stage it runs
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, "".join(seen)
    assert group_gone(proc.pid), "the train stage outlived the kill"
    # The outputs are persist: true (DVC leaves them while the stage runs); the stage never renamed its model in.
    assert model.read_bytes() == old_model
    assert not [p.name for p in model.parent.iterdir() if ".tmp-" in p.name]

    # DVC's .dvc/tmp/rwlock still names the killed dvc process; the next run sees that the pid is
    # gone, warns and drops the entry, so no manual clean-up is needed.
    result = pipeline.run(["dvc", "repro"], tiny_repo)
    assert "Running stage 'train@lecun1989'" in result.stdout
    assert pipeline.run(["dvc", "status", "-q"], tiny_repo, check=False).returncode == 0

    made = model.read_bytes(), pipeline.tree_bytes(tiny_repo / "metrics/curves/lecun1989")  # retrained by hand: the same bytes
    cmd = [sys.executable, str(ROOT / "stages/train.py"), "lecun1989", "data/prepared/zip1989", "models/lecun1989.msgpack"]
    subprocess.run([*cmd, "metrics/curves/lecun1989"], cwd=tiny_repo, check=True, capture_output=True)
    assert (model.read_bytes(), pipeline.tree_bytes(tiny_repo / "metrics/curves/lecun1989")) == made
