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
from lecun1989.pipeline.errors import OutputError


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


# --- the report's files: all replaced, or none ----------------------------------------------------


def _report_repo(root):
    """A repository with per-run files for every variant and the hand-written files the report edits."""
    import json

    from lecun1989.reporting import blocks, results_table

    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    pipeline.write_params(root, params)
    (root / "metrics/per_run").mkdir(parents=True)
    for i, name in enumerate(params["variants"]):
        runs = [(42, 0), (43, 0)]
        split = {"error_pct": [5.0 - i / 10, 4.0], "misses": [0, 0], "loss": [0.1, 0.1]}
        per_run = {"runs": [{"draw": d, "seed": s} for d, s in runs], "train": split, "val": split}
        per_run["test"] = {**split, "reject_for_1pct_error": [1.0, 1.0]}
        (root / f"metrics/per_run/{name}.json").write_text(json.dumps(per_run))
    for path, names in results_table.BLOCKS.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text("".join(f"{a}\nold\n{b}\n" for a, b in map(blocks.markers, names)))
    for path in (results_table.PAIRED, results_table.TABLE):
        (root / path).write_text("old\n")
    return {p: (root / p).read_bytes() for p in [*results_table.BLOCKS, results_table.PAIRED, results_table.TABLE]}


@pytest.mark.parametrize("fail_at", ["write", "rename"])
def test_the_report_replaces_its_files_together_or_not_at_all(tmp_path, monkeypatch, fail_at):
    """A full disk after the first of the report's files leaves all of them as they were."""
    from lecun1989.reporting import results_table

    before = _report_repo(tmp_path)
    monkeypatch.chdir(tmp_path)
    calls = []

    def full(*args, real=(results_table.write_bytes if fail_at == "write" else atomic.os.replace)):
        calls.append(args)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real(*args)

    monkeypatch.setattr(*((results_table, "write_bytes") if fail_at == "write" else (atomic.os, "replace")), full)
    with pytest.raises(OutputError, match="No space left on device.*(nothing was replaced|previous outputs were put back)"):
        results_table.main(["--write"])
    assert {p: (tmp_path / p).read_bytes() for p in before} == before
    assert sorted(p.name for p in (tmp_path / "metrics").iterdir() if ".tmp-" in p.name or ".old-" in p.name) == []
    monkeypatch.undo()
    monkeypatch.chdir(tmp_path)
    results_table.main(["--write"])  # and with room on the disk, all of them are new
    assert all((tmp_path / p).read_bytes() != old for p, old in before.items())
