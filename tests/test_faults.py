"""Faults are refused loudly: damaged raw or prepared data and a diverging run each stop the stage
with a message naming the cause, and leave no output behind. The stages run as subprocesses on a
copy of the tiny repository's data, in an empty folder that must stay empty."""

import hashlib
import json
import shutil
import subprocess
import sys

import numpy as np
import pipeline
import pytest
import yaml
from pipeline import ROOT

from lecun1989.pipeline.errors import DivergenceError

RAW = "data/MNIST/raw"


def run_stage(stage: str, args: list, folder, params: dict) -> subprocess.CompletedProcess:
    """The stage run in folder, beside params and dvc.yaml (a stage writes only the outputs it declares)."""
    pipeline.write_params(folder, params)
    shutil.copy(ROOT / "dvc.yaml", folder / "dvc.yaml")
    cmd = [sys.executable, str(ROOT / "stages" / f"{stage}.py"), *map(str, args), "--params", "params.yaml"]
    return subprocess.run(cmd, cwd=folder, capture_output=True, text=True, timeout=300)


def assert_refused(result, folder, label: str, *words) -> None:
    assert result.returncode == 1, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"{label}: "), result.stderr
    for word in words:
        assert word in last, f"{word!r} not in: {last}"
    assert sorted(p.name for p in folder.iterdir()) == ["dvc.yaml", "params.yaml"], "the refused stage left files behind"


# --- raw IDX files, refused by the preprocess stage ---------------------------------------------


def truncate(path):
    path.write_bytes(path.read_bytes()[:-100])


def flip_label(path):  # same length, valid header: only the digest can tell
    data = bytearray(path.read_bytes())
    data[-1] = (data[-1] + 1) % 10
    path.write_bytes(bytes(data))


def bad_magic(path):
    data = bytearray(path.read_bytes())
    data[2] = 0x0D  # float32 instead of uint8
    path.write_bytes(bytes(data))


def delete(path):
    path.unlink()


RAW_FAULTS = [  # fault, file, words of the message
    (truncate, "t10k-labels-idx1-ubyte", ["t10k-labels-idx1-ubyte", "truncated or padded"]),
    (flip_label, "train-labels-idx1-ubyte", ["train-labels-idx1-ubyte", "SHA-256", "corrupted"]),
    (bad_magic, "t10k-labels-idx1-ubyte", ["t10k-labels-idx1-ubyte", "bad magic number"]),
    (delete, "train-labels-idx1-ubyte", ["train-labels-idx1-ubyte is missing"]),
]


@pytest.mark.parametrize("fault, name, words", RAW_FAULTS, ids=[f"{f.__name__}-{n}" for f, n, _ in RAW_FAULTS])
def test_damaged_raw_file_refused_by_preprocess(tiny_repo_done, tmp_path, fault, name, words):
    raw = tmp_path / "raw"
    raw.mkdir()
    for path in (tiny_repo_done / RAW).iterdir():  # links, except for the copy that gets damaged
        (raw / path.name).symlink_to(path) if path.name != name else shutil.copy(path, raw / name)
    fault(raw / name)
    work = tmp_path / "work"
    work.mkdir()
    result = run_stage("preprocess", ["zip1989", raw, "data/USPS/raw", "data/prepared/zip1989"], work, pipeline.tiny_params())
    assert_refused(result, work, "data error", *words)


def test_tampered_wheel_refused():
    from lecun1989.data.sources import check_wheel
    from lecun1989.pipeline.errors import DataError

    wheel = ROOT / "pyproject.toml"  # any file that is not the pinned wheel
    with pytest.raises(DataError, match="pyproject.toml: SHA-256 .* expected .*tampered"):
        check_wheel(wheel)


# --- prepared files, refused by the train stage ------------------------------------------------


def rewrite_manifest(prepared, name):
    """An edit that also updates the digest: only the shape and range checks can catch it."""
    manifest = json.loads((prepared / "manifest.json").read_text())
    manifest[name]["sha256"] = hashlib.sha256((prepared / name).read_bytes()).hexdigest()
    (prepared / "manifest.json").write_text(json.dumps(manifest))


def label_out_of_range(prepared):
    y = np.load(prepared / "train_y.npy")
    y[0] = 11
    np.save(prepared / "train_y.npy", y)
    rewrite_manifest(prepared, "train_y.npy")


def edited_pixel(prepared):
    x = np.load(prepared / "test_x.npy")
    x[0, 0, 0] = 0.5
    np.save(prepared / "test_x.npy", x)


def edit_manifest(prepared, change):
    manifest = json.loads((prepared / "manifest.json").read_text())
    (prepared / "manifest.json").write_text(json.dumps(change(manifest)))


def object_array(prepared):
    """An object array (pickled Python objects) under a matching digest: np.load refuses to unpickle."""
    np.save(prepared / "train_y.npy", np.array([{"label": 1}] * 3, dtype=object), allow_pickle=True)
    rewrite_manifest(prepared, "train_y.npy")


def entry_outside(prepared):
    """An entry that points outside the folder, at a file whose digest matches: never read."""
    outside = prepared.parent / "elsewhere.npy"
    outside.write_bytes((prepared / "test_y.npy").read_bytes())
    digest = hashlib.sha256(outside.read_bytes()).hexdigest()
    edit_manifest(prepared, lambda m: {**m, "../elsewhere.npy": {"sha256": digest}})


PREPARED_FAULTS = [
    (lambda p: truncate(p / "train_x.npy"), ["train_x.npy does not match its digest"]),
    (edited_pixel, ["test_x.npy does not match its digest"]),
    (lambda p: delete(p / "manifest.json"), ["manifest.json is missing"]),
    (lambda p: (p / "manifest.json").write_text("{"), ["manifest.json is corrupted"]),
    (label_out_of_range, ["train values out of range"]),
    (lambda p: edit_manifest(p, lambda m: list(m)), ["manifest.json is corrupted (a JSON list", "rerun: dvc repro -s -f preprocess"]),
    (lambda p: edit_manifest(p, lambda m: {**m, "train_x.npy": {"shape": [1]}}), ["manifest.json: the entry of train_x.npy has no sha256"]),
    (lambda p: edit_manifest(p, lambda m: {**m, "extra.npy": m["train_x.npy"]}), ["manifest.json does not list exactly", "extra.npy"]),
    (entry_outside, ["manifest.json does not list exactly", "../elsewhere.npy"]),
    (object_array, ["train_y.npy is not a plain numeric .npy array", "rerun: dvc repro -s -f preprocess"]),
]
PREPARED_IDS = ["truncated", "edited", "no-manifest", "bad-manifest", "consistent-edit", "list", "no-sha256", "extra", "outside", "object"]


@pytest.mark.parametrize("fault, words", PREPARED_FAULTS, ids=PREPARED_IDS)
def test_damaged_prepared_file_refused_by_train(tiny_repo_done, tmp_path, fault, words):
    prepared = tmp_path / "prepared"
    shutil.copytree(tiny_repo_done / "data/prepared/zip1989", prepared)
    fault(prepared / "draw_42")
    work = tmp_path / "work"
    work.mkdir()
    result = run_stage(
        "train", ["lecun1989", prepared, "models/lecun1989.msgpack", "metrics/curves/lecun1989"], work, pipeline.tiny_params()
    )
    assert_refused(result, work, "data error", *words)


def test_damaged_model_refused_by_evaluate(tiny_repo_done, tmp_path):
    model = tmp_path / "m.msgpack"
    model.write_bytes((tiny_repo_done / "models/lecun1989.msgpack").read_bytes()[:1000])
    work = tmp_path / "work"
    work.mkdir()
    args = ["lecun1989", tiny_repo_done / "data/prepared/zip1989", model, "metrics/lecun1989.json", "metrics/per_run/lecun1989.json"]
    assert_refused(run_stage("evaluate", args, work, pipeline.tiny_params()), work, "data error", "m.msgpack")


# --- divergence ------------------------------------------------------------------------------


def test_divergence_stops_training_and_writes_nothing(tiny_repo_done, tmp_path):
    params = pipeline.tiny_params()
    # lr 50 on MSE with a linear head: the outputs, and then every weight, overflow in the first epoch.
    params["variants"]["lecun1989"].update(head="linear", lr=50.0)
    args = ["lecun1989", tiny_repo_done / "data/prepared/zip1989", "models/lecun1989.msgpack", "metrics/curves/lecun1989"]
    result = run_stage("train", args, tmp_path, params)
    assert_refused(result, tmp_path, "training diverged", "variant lecun1989, run d42_s0, epoch 1", "NaN/inf", "no model or metrics")


def test_a_run_that_does_not_learn_is_refused(tiny_repo_done, tmp_path):
    """lr 100 on softmax + AdamW: finite, but the weights are thrown about and the train error ends
    near chance (90%): no model or curves, one line naming variant and seed."""
    params = pipeline.tiny_params()
    params["variants"]["change4_relu_dropout"].update(lr=100.0, lr_end=100.0)
    args = ["change4_relu_dropout", tiny_repo_done / "data/prepared/zip1989", "models/change4_relu_dropout.msgpack"]
    args += ["metrics/curves/change4_relu_dropout"]
    result = run_stage("train", args, tmp_path, params)
    assert_refused(
        result, tmp_path, "training did not learn", "variant change4_relu_dropout, run d42_s0", "after epoch 2", "no model or metrics"
    )


def test_not_learned_names_the_first_seed_at_chance():
    from lecun1989.pipeline.errors import NotLearnedError
    from lecun1989.training.epoch_checks import NOT_LEARNED_PCT, check_learned

    check_learned(np.array([10.0, NOT_LEARNED_PCT - 0.1]), "v", ["d42_s3", "d42_s4"], 7)  # learned: no error
    with pytest.raises(NotLearnedError, match=r"variant v, run d43_s4: train error 89.0% after epoch 7"):
        check_learned(np.array([10.0, 89.0, 95.0]), "v", ["d42_s4", "d43_s4", "d44_s4"], 7)


def test_divergence_names_the_first_bad_seed():
    from lecun1989.training.epoch_checks import check_finite

    params = np.ones((3, 4), np.float32)
    params[2, 1] = np.inf
    losses = np.array([0.1, np.nan, 0.2])
    runs = ["d42_s7", "d42_s8", "d43_s7"]
    check_finite([np.ones((3, 2))], "v", runs, 1)  # all finite: no error
    with pytest.raises(DivergenceError, match="variant v, run d42_s8, epoch 5"):
        check_finite([params, losses], "v", runs, 5)
    with pytest.raises(DivergenceError, match="variant v, run d43_s7, epoch 5"):
        check_finite([params], "v", runs, 5)


# --- whatever the machine refuses, the user reads one line, never a traceback ---------------------


def one_line(result, code: int, label: str, *words) -> str:
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"{label}: "), result.stderr
    for word in words:
        assert word in last, f"{word!r} not in: {last}"
    return last


def rename(params: dict, section: str, old: str, new: str) -> dict:
    params[section] = {new if k == old else k: v for k, v in params[section].items()}
    for v in params["variants"].values():
        for key in ("dataset", "baseline"):
            if v.get(key) == old:
                v[key] = new
    return params


def test_a_key_too_long_for_a_file_name_is_refused_before_any_work(tmp_path):
    key = "v" * 300
    params = rename(pipeline.tiny_params(), "variants", "lecun1989", key)
    result = run_stage("train", [key, "prepared", f"models/{key}.msgpack", f"metrics/curves/{key}"], tmp_path, params)
    one_line(result, 3, "output error", "a name of 308 bytes", "shorten the variant or dataset key")
    dataset = "d" * 250
    params = rename(pipeline.tiny_params(), "datasets", "zip1989", dataset)
    result = run_stage("preprocess", [dataset, "raw", "usps_raw", f"data/prepared/{dataset}"], tmp_path, params)
    one_line(result, 3, "output error", "a name of 250 bytes", "shorten the variant or dataset key")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dvc.yaml", "params.yaml"]  # the stage's inputs, nothing written


@pytest.mark.parametrize("count, words", [("\u0663", "is not a whole number in ASCII digits"), ("0", "is less than 1")])
def test_a_process_count_that_is_no_count_is_one_line(tmp_path, monkeypatch, count, words):
    monkeypatch.setenv("JAX_COORDINATOR_ADDRESS", "localhost:1")
    monkeypatch.setenv("LECUN1989_NUM_PROCESSES", count)
    monkeypatch.setenv("LECUN1989_PROCESS_ID", "0")
    result = run_stage("train", ["lecun1989", "prepared", "models/m.msgpack", "metrics/curves/m"], tmp_path, pipeline.tiny_params())
    one_line(result, 1, "environment error", "LECUN1989_NUM_PROCESSES", words)


def test_a_folder_that_is_not_utf8_is_one_line(tmp_path):
    """independent_runs writes the folders' paths into its page: one that is not UTF-8 is one line."""
    import os

    folder = tmp_path / os.fsdecode(b"caf\xe9")
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    for where, draws, seed in (("metrics", [42, 43], 0), ("other", [44, 45], 10)):
        (folder / where / "per_run").mkdir(parents=True)
        for name in params["variants"]:
            runs = [{"draw": d, "seed": seed} for d in draws]
            split = {"error_pct": [5.0, 4.0], "misses": [0, 0], "loss": [0.1, 0.1]}
            per_run = {"runs": runs, "train": split, "val": split, "test": {**split, "reject_for_1pct_error": [1.0, 1.0]}}
            (folder / where / "per_run" / f"{name}.json").write_text(json.dumps(per_run))
    pipeline.write_params(folder, params)
    cmd = [sys.executable, "-m", "lecun1989.reporting.independent_runs", str(folder / "other"), "--metrics", str(folder / "metrics")]
    result = subprocess.run(cmd + ["--out", "page.md"], cwd=folder, capture_output=True, text=True, timeout=120, env=pipeline.env())
    one_line(result, 4, "system error", "not UTF-8", "give the repository folder and its files UTF-8 names")
    assert not (folder / "page.md").exists()


def test_damaged_dvc_files_are_named_before_dvc_runs(tmp_path):
    """dvc.lock emptied, or .dvc/tmp/rwlock cut short, by a full disk: the check names the fix."""
    (tmp_path / "dvc.lock").write_bytes(b"")
    check = [sys.executable, "-m", "lecun1989.pipeline.dvc_state"]
    result = subprocess.run(check, cwd=tmp_path, capture_output=True, text=True, env=pipeline.env())
    one_line(result, 1, "data error", "dvc.lock is damaged (0 bytes", "git checkout dvc.lock")
    result = run_stage_module("lecun1989.pipeline.params", ["params.yaml", "data/params.checked"], tmp_path)
    one_line(result, 1, "data error", "dvc.lock is damaged (0 bytes", "git checkout dvc.lock")
    (tmp_path / "dvc.lock").unlink()
    (tmp_path / ".dvc/tmp").mkdir(parents=True)
    (tmp_path / ".dvc/tmp/rwlock").write_text('{"read": {}, "wri')
    result = subprocess.run(check, cwd=tmp_path, capture_output=True, text=True, env=pipeline.env())
    one_line(result, 1, "data error", ".dvc/tmp/rwlock is damaged", "rm .dvc/tmp/rwlock")


def run_stage_module(module: str, args: list, folder) -> subprocess.CompletedProcess:
    pipeline.write_params(folder, pipeline.tiny_params())
    return subprocess.run(
        [sys.executable, "-m", module, *args], cwd=folder, capture_output=True, text=True, timeout=120, env=pipeline.env()
    )


def test_make_checks_dvc_files_before_dvc_runs():
    """Every make target that runs DVC runs the check first."""
    for target in ("repro", "results", "verify", "verify-quick", "plots", "metrics-diff"):
        dry = subprocess.run(["make", "-n", target], cwd=ROOT, capture_output=True, text=True, check=True).stdout.splitlines()
        check = next(i for i, line in enumerate(dry) if "lecun1989.pipeline.dvc_state" in line)
        assert all("dvc " not in line and "reporting.verify" not in line for line in dry[:check]), (target, dry)
