"""The vectorized path (lecun1989/training/vectorized.py: runs vmapped in one program, sharded over
devices) against the same engine's runs on threads, and the switch between them.

The sharding tests need several devices. On a CPU, test_sharding_on_four_forced_cpu_devices reruns
this file in a subprocess with XLA_FLAGS=--xla_force_host_platform_device_count=4 (the flag must be
set before JAX starts); in this process they are skipped, there they run."""

import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import ROOT, make_runs, max_diff, tiny_data, variant

from lecun1989 import runtime
from lecun1989.training import vectorized

N, EPOCHS = 20, 2
# vmap turns the step's matmuls into batched ones, which sum in another order: measured on the CPU
# (AMD EPYC, jax 0.10.2), the vectorized runs differ from the runs on threads by at most 1.2e-7 after
# 40 steps (1 ulp of the largest weights); bit-identical is not what vmap promises.
TOLERANCE = 1e-6
needs_four = pytest.mark.skipif(jax.device_count() < 4, reason="runs in test_sharding_on_four_forced_cpu_devices's subprocess")


def digits(n_sets: int):
    """n_sets different sets of N tiny digits, stacked: (n_sets, N, 16, 16), (n_sets, N)."""
    sets = [tiny_data(N, seed=40 + i) for i in range(n_sets)]
    return jnp.asarray(np.stack([x for x, _ in sets])), jnp.asarray(np.stack([y for _, y in sets]))


def trained(name, mode, X, Y, **changes):
    """(runs, the State of every run stacked on a leading run axis) after EPOCHS epochs: vectorized
    runs are the XLA engine vmapped, so the runs on threads they are held to are the XLA engine's too."""
    runs = make_runs(variant(name, epochs=EPOCHS, **changes), N, engine="xla", mode=mode)
    assert runs.mode == mode and runs.engine.name == "xla"
    state = runs.init()
    for epoch in range(EPOCHS):
        state = runs.train_epoch(state, epoch, X, Y)
    return runs, stacked(state)


def stacked(states):
    """A list of States (threads) as one State with a leading run axis, as vectorized runs keep theirs."""
    return jax.tree.map(lambda *xs: jnp.stack(xs), *states) if isinstance(states, list) else states


def test_runs_mode_default_switch_and_bad_value(monkeypatch):
    monkeypatch.delenv("LECUN1989_RUNS", raising=False)
    assert runtime.runs_mode("cpu") == ("threads", "default on cpu")
    assert runtime.runs_mode("gpu") == ("vectorized", "default on gpu")
    for mode in ("threads", "vectorized"):
        monkeypatch.setenv("LECUN1989_RUNS", mode)
        assert runtime.runs_mode("cpu") == runtime.runs_mode("gpu") == (mode, f"LECUN1989_RUNS={mode}")
        assert make_runs(variant("lecun1989"), N, engine="xla").mode == mode  # Trainer without a mode reads it
    monkeypatch.setenv("LECUN1989_RUNS", "vmap")
    with pytest.raises(
        runtime.EnvironmentSettingError, match="LECUN1989_RUNS='vmap' is not a choice: set it to one of threads .*; vectorized "
    ):
        runtime.runs_mode("cpu")


def test_sdlm_runs_train_on_threads_even_when_vectorized_is_asked_for():
    """SDLM re-estimates each run's curvature between epochs (not part of the vmapped epoch)."""
    assert make_runs(variant("lecun1989_paper"), N, engine="xla", mode="vectorized").mode == "threads"
    assert make_runs(variant("lecun1989"), N, engine="xla", mode="vectorized").mode == "vectorized"


def test_padding_repeats_the_last_run():
    assert [vectorized.padded_count(n, 4) for n in (1, 4, 5, 8)] == [4, 4, 8, 8]
    padded = vectorized.pad_runs({"a": np.arange(6).reshape(3, 2)}, 5)["a"]
    np.testing.assert_array_equal(padded, [[0, 1], [2, 3], [4, 5], [4, 5], [4, 5]])


def test_per_run_data_on_threads_trains_each_seed_on_its_own_digits():
    X, Y = digits(2)
    _, together = trained("lecun1989", "threads", X, Y, n_seeds=2, seed=5)
    assert max_diff(together.params, trained("lecun1989", "threads", X[0], Y[0], n_seeds=2, seed=5)[1].params) > 1e-4
    for i in range(2):
        _, alone = trained("lecun1989", "threads", X[i], Y[i], n_seeds=1, seed=5 + i)
        assert max_diff(jax.tree.map(lambda a: a[i : i + 1], together), alone) == 0.0


def test_vectorized_on_one_device_matches_threads():
    x, y = tiny_data(N, seed=31)
    X, Y = jnp.asarray(x), jnp.asarray(y)
    threads_runs, threads = trained("lecun1989", "threads", X, Y, n_seeds=2)
    trainer, vec = trained("lecun1989", "vectorized", X, Y, n_seeds=2)
    assert max_diff(threads, vec) < TOLERANCE
    assert max_diff(vec.params, trainer.init().params) > 1e-3  # it trained
    assert max_diff(trainer.params(vec), threads_runs.params([jax.tree.map(lambda a, i=i: a[i], threads) for i in range(2)])) < TOLERANCE


def shards_by_device(array) -> dict:
    """{device id: the run indices it holds} of a run-sharded array."""
    return {s.device.id: list(range(len(array))[s.index[0]]) for s in array.addressable_shards}


@needs_four
def test_six_runs_sharing_data_on_four_devices():
    """6 runs padded to 8, 2 per device; the shared digits are one copy per device."""
    x, y = tiny_data(N, seed=31)
    X, Y = jnp.asarray(x), jnp.asarray(y)
    _, threads = trained("lecun1989", "threads", X, Y, n_seeds=6)
    trainer, vec = trained("lecun1989", "vectorized", X, Y, n_seeds=6)
    diff = max_diff(threads, vec)
    assert diff < TOLERANCE, diff
    assert max_diff(vec.params, trainer.init().params) > 1e-3
    sharded = vectorized.VectorizedRuns(trainer.engine.epoch).epoch_sharded(trainer.init(), 0, X, Y)
    kernel = sharded.params["w1"]  # the XLA engine's H1 kernel
    assert kernel.shape[0] == 8 and kernel.sharding.spec == jax.sharding.PartitionSpec("runs")
    assert shards_by_device(kernel) == {0: [0, 1], 1: [2, 3], 2: [4, 5], 3: [6, 7]}
    assert max_diff(jax.tree.map(lambda a: a[:6], sharded), trainer.train_epoch(trainer.init(), 0, X, Y)) == 0.0
    padding, run5_twice = jax.tree.map(lambda a: a[6:], sharded), jax.tree.map(lambda a: a[np.array([5, 5])], sharded)
    assert max_diff(padding, run5_twice) == 0.0


@needs_four
def test_three_runs_with_their_own_digits_on_four_devices():
    """change4 (shift, dropout, AdamW) with per-run digits: 3 runs padded to 4, one per device. (That
    the threads path trains each run on its own digits, and that they differ, is tested above.)"""
    X, Y = digits(3)
    _, threads = trained("change4_relu_dropout", "threads", X, Y, n_seeds=3)
    trainer, vec = trained("change4_relu_dropout", "vectorized", X, Y, n_seeds=3)
    diff = max_diff(threads, vec)
    assert diff < TOLERANCE, diff
    kernel = vectorized.VectorizedRuns(trainer.engine.epoch).epoch_sharded(trainer.init(), 0, X, Y).params["w1"]
    assert shards_by_device(kernel) == {0: [0], 1: [1], 2: [2], 3: [3]}


def test_sharding_on_four_forced_cpu_devices():
    if jax.device_count() >= 4:
        pytest.skip("this process has 4 devices: the sharding tests run here")
    flags = f"{os.environ.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count=4".strip()
    env = {**os.environ, "XLA_FLAGS": flags, "JAX_PLATFORMS": "cpu"}
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-k", "on_four_devices", __file__]
    result = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0 and "2 passed" in result.stdout, result.stdout[-4000:] + result.stderr[-2000:]
