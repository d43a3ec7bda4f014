"""The train stage over two processes (lecun1989/training/distributed.py): two local CPU processes on
127.0.0.1 under jax.distributed, each training its shard of the runs, give the single-process
vectorized run's model and curves bit for bit; only process 0 writes."""

import os
import shutil
import socket
import subprocess
import sys

import pipeline
import pytest

from lecun1989.runtime import EnvironmentSettingError
from lecun1989.training import distributed

RUNS, COORDINATOR, NUM_PROCESSES, PROCESS_ID = (
    "LECUN1989_RUNS",
    "JAX_COORDINATOR_ADDRESS",
    "LECUN1989_NUM_PROCESSES",
    "LECUN1989_PROCESS_ID",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


MODEL, CURVES = "models/lecun1989.msgpack", "metrics/curves/lecun1989"


def train(repo, out, extra_env) -> subprocess.Popen:
    """The train stage run in the folder out, beside a copy of dvc.yaml (a stage writes only the
    outputs it declares, inside the folder it runs in), on the tiny repository's params and digits."""
    out.mkdir()
    shutil.copy(repo / "dvc.yaml", out / "dvc.yaml")
    cmd = [sys.executable, "-m", "stages.train", "lecun1989", str(repo / "data/prepared/zip1989"), MODEL, CURVES]
    cmd += ["--params", str(repo / "params.yaml")]
    env = {k: v for k, v in pipeline.env().items() if k not in (RUNS, COORDINATOR)}
    env = {**env, "JAX_PLATFORMS": "cpu", "PYTHONPATH": str(pipeline.ROOT), **extra_env}
    return subprocess.Popen(cmd, cwd=out, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finished(process: subprocess.Popen) -> str:
    output, _ = process.communicate(timeout=300)
    assert process.returncode == 0, output
    return output


def test_two_processes_train_the_single_process_vectorized_runs_bit_for_bit(tiny_repo_done, tmp_path):
    single = finished(train(tiny_repo_done, tmp_path / "single", {RUNS: "vectorized"}))
    assert "1 cpu device(s), 1 process(es)" in single
    address = f"127.0.0.1:{free_port()}"
    processes = [
        train(
            tiny_repo_done,
            tmp_path / f"process{i}",
            {COORDINATOR: address, NUM_PROCESSES: "2", PROCESS_ID: str(i)},
        )
        for i in (0, 1)
    ]
    outputs = [finished(p) for p in processes]
    for output in outputs:  # each process's one CPU device holds 2 of the 4 runs
        assert "training on the xla engine" in output and "vectorized (" in output and "2 cpu device(s), 2 process(es)" in output, output
    assert "epoch 2/2" in outputs[0] and "epoch" not in outputs[1]  # process 1 stays quiet
    assert sorted(p.name for p in (tmp_path / "process1").iterdir()) == ["dvc.yaml"]  # and writes nothing
    assert (tmp_path / "process0" / MODEL).read_bytes() == (tmp_path / "single" / MODEL).read_bytes()
    assert pipeline.tree_bytes(tmp_path / "process0" / CURVES) == pipeline.tree_bytes(tmp_path / "single" / CURVES)


@pytest.mark.parametrize(
    "env, message",
    [
        ({RUNS: "threads"}, "LECUN1989_RUNS=threads trains every run in every process"),
        ({PROCESS_ID: "one"}, "LECUN1989_PROCESS_ID='one' is not a whole number"),
        ({NUM_PROCESSES: "2", PROCESS_ID: "2"}, "LECUN1989_PROCESS_ID=2 is not below"),
    ],
)
def test_a_bad_setting_is_refused_before_jax_starts(monkeypatch, env, message):
    monkeypatch.setenv(COORDINATOR, "127.0.0.1:1")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(EnvironmentSettingError, match=message):
        distributed.initialize_from_env()


def test_without_a_coordinator_nothing_changes(monkeypatch):
    monkeypatch.delenv(COORDINATOR, raising=False)
    monkeypatch.delenv(RUNS, raising=False)
    assert distributed.initialize_from_env() is False
    assert RUNS not in os.environ and distributed.is_writer()
