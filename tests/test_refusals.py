"""Refusals of inputs that a careless edit or an attacker produces, each one line naming the problem
and the fix, checked in-process; docs/refusals.md quotes every message produced here, and the last
test holds the two together (a message changed here must change there, and the other way round)."""

import copy
import hashlib
import inspect
import json
import re
import time
from pathlib import Path

import numpy as np
import pipeline
import pytest
import yaml
from pipeline import ROOT

from lecun1989.pipeline import atomic, inputs, output_guard
from lecun1989.pipeline.errors import PipelineError
from lecun1989.pipeline.schema import load_params

DOC = ROOT / "docs" / "refusals.md"
COMMITTED = yaml.safe_load((ROOT / "params.yaml").read_text())


def line(error: PipelineError) -> str:
    """What run_stage prints for the error."""
    text = f"{error.label}: {error}"
    assert "\n" not in text, text
    return text


def refusal(call) -> str:
    with pytest.raises(PipelineError) as caught:
        call()
    return line(caught.value)


def params_text(text: str | bytes) -> str:
    """The refusal of a params.yaml holding `text` (the test runs in its own empty folder)."""
    Path("params.yaml").write_bytes(text if isinstance(text, bytes) else text.encode())
    return refusal(lambda: load_params("params.yaml"))


def params_edit(edit) -> str:
    """The refusal of the committed params.yaml after `edit(params)`."""
    params = copy.deepcopy(COMMITTED)
    edit(params)
    return params_text(pipeline.dump_params(params))


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


# --- params.yaml read as DVC reads it (YAML 1.2) --------------------------------------------------


def leading_zero():
    return params_text("data: {source: pypi}\nseed: 010\n")


def test_leading_zero_is_refused_where_dvc_and_pyyaml_disagree():
    from dvc.utils.serialize import parse_yaml

    assert parse_yaml("seed: 010", "params.yaml")["seed"] == 10 and yaml.safe_load("seed: 010")["seed"] == 8
    assert leading_zero().endswith("'010' has a leading zero (YAML 1.1 reads it as octal, YAML 1.2 as decimal): write 10")


def test_a_number_reads_as_dvc_reads_it():
    """3e-4 is a float to YAML 1.2 (DVC): the stages read the same number, no string."""
    Path("params.yaml").write_text(pipeline.dump_params(COMMITTED).replace("lr: 0.0003", "lr: 3e-4"))
    assert "lr: 3e-4" in Path("params.yaml").read_text()
    assert load_params("params.yaml").variants["change2_adamw"].lr == 3e-4


def duplicate_key():
    return params_text("data:\n  source: pypi\n  source: torchvision\n")


def test_duplicate_key_is_refused():
    assert "duplicate key" in duplicate_key()


def alias_bomb():
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"] + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    return params_text("\n".join(levels) + "\n")


def test_alias_bomb_is_refused_at_once():
    start = time.perf_counter()
    message = alias_bomb()
    assert time.perf_counter() - start < 1, "the aliases were expanded"
    assert "anchors and aliases are not allowed" in message


def not_utf8():
    return params_text(b"data: {source: py\xffpi}\n")


def deep_nesting():
    return params_text("x: " + "[" * 20000 + "]" * 20000 + "\n")


def test_not_utf8_and_deep_nesting_are_one_line():
    assert "is not UTF-8" in not_utf8()
    assert "nested deeper than 16 levels" in deep_nesting()


def key_with_newline():
    return params_edit(lambda p: p.update({"colour\nred": 1}))


def test_a_key_with_a_newline_stays_on_one_line():
    assert key_with_newline().startswith("params error: params.yaml: 'colour\\nred' = 1: unknown key")


def quoted_number():
    return params_edit(lambda p: p["variants"]["lecun1989"].update(lr="0.5"))


def integer_as_float():
    return params_edit(lambda p: p["variants"]["lecun1989"].update(epochs=1e9))


def test_number_hints_fit_the_key():
    assert quoted_number().endswith("(quoted, a number is a string: write it without quotes)")
    assert integer_as_float().endswith("variants.lecun1989.epochs = 1000000000.0: Input should be a valid integer")


# --- names, pairing ------------------------------------------------------------------------------


def path_as_dataset_key():
    return params_edit(lambda p: p["datasets"].update({"../../../victim": p["datasets"]["zip1989"]}))


def test_dataset_and_variant_keys_are_names():
    assert "datasets.../../../victim.[key] = '../../../victim'" in path_as_dataset_key()
    assert "a name" in params_edit(lambda p: p["variants"].update({"1st": p["variants"]["lecun1989"]}))


def after_change4_50k(variants: dict, name: str, entry: dict) -> dict:
    """variants with name inserted right after change4_50k, so that change4_50k is the row before it."""
    items = list(variants.items())
    i = [k for k, _ in items].index("change4_50k") + 1
    return dict([*items[:i], (name, entry), *items[i:]])


def default_baseline_on_other_test_digits():
    def edit(p):
        p["datasets"]["small_test"] = {**p["datasets"]["zip1989"], "n_test": 1000}
        entry = {k: v for k, v in p["variants"]["change4_50k"].items() if k != "baseline"}
        p["variants"] = after_change4_50k(p["variants"], "change4_small_test", {**entry, "dataset": "small_test"})

    return params_edit(edit)


def no_common_seed():
    def edit(p):
        entry = {k: v for k, v in p["variants"]["change4_50k"].items() if k != "baseline"}
        p["variants"] = after_change4_50k(p["variants"], "change4_seed100", {**entry, "seed": 100})

    return params_edit(edit)


def test_pairing_rule_holds_for_the_default_baseline():
    assert "variants.change4_small_test.baseline (none given: the row before, 'change4_50k')" in default_baseline_on_other_test_digits()
    assert "variants.change4_seed100.baseline (none given" in no_common_seed()


# --- a stage commits only what still describes its inputs ----------------------------------------


def params_changed_while_running():
    Path("params.yaml").write_text(pipeline.dump_params(COMMITTED))
    load_params("params.yaml")
    Path("params.yaml").write_text(pipeline.dump_params(COMMITTED).replace("epochs: 23", "epochs: 1", 1))
    Path("out").write_bytes(b"old")

    def commit():
        with atomic.staged(files=[Path("out")]) as scratch:
            scratch[Path("out")].write_bytes(b"new")

    message = refusal(commit)
    assert Path("out").read_bytes() == b"old" and sorted(p.name for p in Path().iterdir()) == ["out", "params.yaml"]
    return message


def test_outputs_are_not_committed_when_the_params_changed_meanwhile():
    assert params_changed_while_running().startswith("output error: params.yaml changed while this stage ran")
    inputs.forget()
    with atomic.staged(files=[Path("out")]) as scratch:  # nothing recorded: the commit goes through
        scratch[Path("out")].write_bytes(b"new")
    assert Path("out").read_bytes() == b"new"


def output_through_symlink():
    (Path.cwd().parent / "outside").mkdir(exist_ok=True)
    Path("link").symlink_to(Path.cwd().parent / "outside")
    return refusal(lambda: output_guard.check({"link/prepared": output_guard.folder_of("a folder", lambda name: True)}))


def output_symlink_inside():
    Path("real").mkdir()
    Path("prepared").symlink_to("real")
    return refusal(lambda: output_guard.check({"prepared": output_guard.folder_of("a folder", lambda name: True)}))


def test_outputs_outside_the_repository_or_symlinked_are_refused():
    assert "link/prepared leads outside the repository through a symlink" in output_through_symlink()
    assert "../x leads outside the repository" in refusal(
        lambda: output_guard.check({"../x": output_guard.folder_of("a folder", lambda n: True)})
    )
    assert "prepared is a symlink (to real)" in output_symlink_inside()


# --- the model evaluation loads ------------------------------------------------------------------


TRAINED_ON = {"variant": "v", "params_sha256": "5" * 64, "prepared": {"draw_42": "a" * 64}}  # what variant v is trained from


def _model(tmp: Path, weights, **trained_on) -> Path:
    """models/v.msgpack as the train stage writes it, trained from TRAINED_ON with `trained_on`'s changes."""
    from lecun1989.training import checkpoint

    path = tmp / "models" / "v.msgpack"
    path.parent.mkdir(exist_ok=True)
    checkpoint.save(path, {"w": weights}, "test", TRAINED_ON | trained_on)
    return path


def _load(path: Path, weights) -> str | None:
    """checkpoint.load of `path` against variant v (TRAINED_ON), whose only parameter has the shape of `weights`."""
    from lecun1989.training import checkpoint

    with pytest.MonkeyPatch.context() as patches:
        patches.setattr(checkpoint, "template", lambda variant, n_runs: {"w": np.zeros_like(weights)})
        return checkpoint.load(path, None, 1, TRAINED_ON)


def _lock(stages: dict) -> None:
    Path("dvc.lock").write_text(yaml.safe_dump({"schema": "2.0", "stages": stages}))


def damaged_model():
    weights = np.linspace(-1, 1, 4000, dtype=np.float32).reshape(4, 1000)
    path = _model(Path(), weights)
    _lock({"train@v": {"outs": [{"path": "models/v.msgpack", "md5": hashlib.md5(path.read_bytes()).hexdigest()}]}})
    _load(path, weights)  # as written: loads
    data = bytearray(path.read_bytes())
    data[1000:1100] = b"\x3f" * 100  # same size, still a valid msgpack of finite weights
    path.write_bytes(bytes(data))
    return refusal(lambda: _load(path, weights))


def test_a_model_that_is_not_what_training_wrote_is_refused():
    message = damaged_model()
    assert message.startswith("data error: models/v.msgpack is not the model train@v wrote (MD5 ")
    assert "dvc checkout models/v.msgpack" in message and "dvc repro -s -f train@v" in message


def model_of_another_variant():
    weights = np.zeros(3, np.float32)
    return refusal(lambda: _load(_model(Path(), weights, variant="w"), weights))


def model_of_other_params():
    weights = np.zeros(3, np.float32)
    return refusal(lambda: _load(_model(Path(), weights, params_sha256="6" * 64), weights))


def model_of_other_data():
    weights = np.zeros(3, np.float32)
    return refusal(lambda: _load(_model(Path(), weights, prepared={"draw_42": "b" * 64}), weights))


def model_without_record():
    from flax import serialization

    weights = np.zeros(3, np.float32)
    path = _model(Path(), weights)
    path.write_bytes(serialization.msgpack_serialize({"params": {"w": weights}, "trained_by": "test"}))  # the older format
    return refusal(lambda: _load(path, weights))


def test_a_model_is_scored_only_as_what_it_was_trained_from():
    assert model_of_another_variant() == (
        "data error: models/v.msgpack is the model of variant 'w', not of v: give v's model, or retrain it (dvc repro train@v)"
    )
    assert model_of_other_params().startswith("data error: models/v.msgpack was trained with other params than variants.v and its dataset")
    assert model_of_other_data().endswith("(a draw's manifest differs): retrain it (dvc repro train@v)")
    assert model_without_record().endswith(
        "does not record the variant, params and prepared data it was trained on: retrain it (dvc repro train@v)"
    )


def lock_malformed():
    weights = np.zeros(3, np.float32)
    path = _model(Path(), weights)
    Path("dvc.lock").write_text("schema: '2.0'\nstages: [train@v]\n")
    return refusal(lambda: _load(path, weights))


def lock_without_record():
    weights = np.zeros(3, np.float32)
    path = _model(Path(), weights)
    _lock({"train@w": {"outs": [{"path": "models/w.msgpack", "md5": "0" * 32}]}})
    return refusal(lambda: _load(path, weights))


def prepared_not_recorded():
    from lecun1989.pipeline import lockfile

    Path("data/prepared/zip1989/draw_42").mkdir(parents=True)
    Path("data/prepared/zip1989/draw_42/manifest.json").write_text("{}")
    _lock({"preprocess@zip1989": {"outs": [{"path": "data/prepared/zip1989", "md5": "0" * 32 + ".dir"}]}})
    return refusal(lambda: lockfile.check(Path("data/prepared/zip1989"), "preprocess@zip1989", "the prepared data"))


def test_inputs_are_checked_against_dvc_lock_and_fail_closed(monkeypatch):
    from lecun1989.pipeline import lockfile

    assert lock_malformed().startswith("data error: dvc.lock is unreadable or malformed (no mapping of stages)")
    inputs.forget()
    assert lock_without_record() == (
        "data error: dvc.lock has no record of models/v.msgpack as an output of train@v: produce it through DVC (dvc repro train@v)"
    )
    Path("dvc.lock").write_text("stages:\n  train@v: {outs: [{path: models/v.msgpack, md5: 12}]}\n")
    assert "the MD5 of models/v.msgpack in train@v is 12" in refusal(lambda: lockfile.recorded(Path("models/v.msgpack"), "train@v"))
    Path("dvc.lock").unlink()
    assert lockfile.recorded(Path("models/v.msgpack"), "train@v") is None  # a folder where DVC never ran
    monkeypatch.setenv("DVC_STAGE", "evaluate@v")  # but DVC runs this stage: there must be a record
    assert "has no record of models/v.msgpack" in refusal(lambda: lockfile.recorded(Path("models/v.msgpack"), "train@v"))
    monkeypatch.delenv("DVC_STAGE")
    assert prepared_not_recorded().startswith("data error: data/prepared/zip1989 is not the prepared data preprocess@zip1989 wrote (MD5 ")


def test_a_folder_hashes_as_dvc_hashes_it(tmp_path):
    """DVC's MD5 of a folder, as `dvc add` wrote it for these files."""
    from lecun1989.pipeline import lockfile

    (tmp_path / "f/draw_1").mkdir(parents=True)
    (tmp_path / "f/draw_2").mkdir()
    (tmp_path / "f/draw_1/x.npy").write_text("a\n")
    (tmp_path / "f/draw_2/manifest.json").write_bytes(b"bb\0")
    (tmp_path / "f/top").write_text("c\n")
    assert lockfile.md5_of(tmp_path / "f") == "b538cfe75d8a2709db8831b642820be6.dir"


# --- keys and outputs ------------------------------------------------------------------------------


def stage_key_not_a_name():
    from lecun1989.pipeline.params import check_stage_key

    return refusal(lambda: check_stage_key("train@x;touch pwned;"))


def test_a_stage_key_that_is_not_a_name_is_refused():
    from lecun1989.pipeline.params import check_stage_key

    assert stage_key_not_a_name().startswith(
        "params error: DVC_STAGE = 'train@x;touch pwned;': the stage's key 'x;touch pwned;' is not a name"
    )
    assert "'q\\ntouch pwned' is not a name" in refusal(lambda: check_stage_key("train@q\ntouch pwned"))
    check_stage_key("train@lecun1989")
    check_stage_key("report")


def _declared_repo():
    import shutil

    shutil.copy(ROOT / "dvc.yaml", "dvc.yaml")
    Path("params.yaml").write_text(pipeline.dump_params(COMMITTED))
    return load_params("params.yaml")


def another_stages_output():
    from lecun1989.pipeline import declared

    params = _declared_repo()
    return refusal(lambda: declared.check("evaluate", "lecun1989", ["metrics/lecun1989.json", "metrics/change1_softmax.json"], params))


def no_dvc_yaml():
    from lecun1989.pipeline import declared

    return refusal(lambda: declared.check("download", None, ["data/MNIST/raw"], load_params(ROOT / "params.yaml")))


def test_a_stage_writes_only_the_outputs_dvc_yaml_declares_for_it():
    from lecun1989.pipeline import declared

    assert another_stages_output().startswith(
        "output error: metrics/change1_softmax.json is not an output of evaluate@lecun1989 in dvc.yaml (it is evaluate@change1_softmax's)"
    )
    params = load_params("params.yaml")
    allowed = [
        ("train", "lecun1989", ["models/lecun1989.msgpack", "metrics/curves/lecun1989"]),
        ("preprocess", "zip1989", ["data/prepared/zip1989"]),
        ("download", None, ["data/MNIST/raw"]),
    ]
    for script, key, paths in allowed:
        declared.check(script, key, paths, params)
    refused = [  # another stage's output, a folder holding others', one that holds one output only, a path nobody declares
        ("train", "lecun1989", ["models/change1_softmax.msgpack"], "it is train@change1_softmax's"),
        ("train", "lecun1989", ["metrics/curves"], "it is train@"),
        ("preprocess", "zip1989", ["data/prepared/mnist50k"], "it is preprocess@mnist50k's"),
        ("download", None, ["data/MNIST"], "no stage declares it"),
        ("download", None, ["metrics/lecun1989.json"], "it is evaluate@lecun1989's"),
    ]
    for script, key, paths, words in refused:
        assert words in refusal(lambda: declared.check(script, key, paths, params)), (script, paths)
    Path("dvc.yaml").unlink()
    assert no_dvc_yaml().startswith("output error: no dvc.yaml in ")


def test_declared_outputs_are_those_dvc_resolves():
    """declared.stages expands dvc.yaml as DVC does: the same stages, each with the same outputs."""
    from dvc.repo import Repo

    from lecun1989.pipeline import declared

    with Repo(str(ROOT)) as repo:
        resolved = {s.name: sorted(str(o.def_path) for o in s.outs) for s in repo.index.stages}
    ours = {name: sorted(outs) for name, (_, outs) in declared.stages(load_params(ROOT / "params.yaml"), ROOT / "dvc.yaml").items()}
    assert ours == resolved


def non_finite_weight():
    weights = np.array([1.0, np.nan], np.float32)
    path = _model(Path(), weights)
    return refusal(lambda: _load(path, weights))


def test_a_non_finite_weight_is_refused():
    assert non_finite_weight() == (
        "data error: models/v.msgpack holds a weight that is NaN or infinite (no train stage writes one): rerun the train stage"
    )


# --- other inputs ----------------------------------------------------------------------------------


def idx_header_overflow():
    from lecun1989.data import idx

    header = bytes([0, 0, idx.UBYTE, 4]) + (65536).to_bytes(4, "big") * 4  # 2**64 elements: 0 in int64
    return refusal(lambda: idx.decode(header, "t10k-images-idx3-ubyte"))


def test_idx_header_whose_size_overflows_is_refused():
    assert "the header promises 18446744073709551636" in idx_header_overflow()


def _per_run(runs, errors):
    n = len(runs)
    split = {"error_pct": errors, "misses": [0] * n, "loss": [0.1] * n}
    return {
        "runs": [{"draw": d, "seed": s} for d, s in runs],
        "train": split,
        "val": split,
        "test": {**split, "reject_for_1pct_error": [1.0] * n},
    }


def _report_repo(per_run: dict) -> Path:
    Path("params.yaml").write_text(pipeline.dump_params(COMMITTED))
    Path("metrics/per_run").mkdir(parents=True, exist_ok=True)
    for name, content in per_run.items():
        Path(f"metrics/per_run/{name}.json").write_text(content if isinstance(content, str) else json.dumps(content))
    return Path()


def corrupt_per_run_file():
    from lecun1989.reporting import results_table

    good = _per_run([(42, 0), (43, 0)], [5.0, 4.0])
    _report_repo({name: good for name in COMMITTED["variants"]} | {"change1_softmax": '{"runs": [{"draw": 42'})
    return refusal(lambda: results_table.outputs(Path()))


def rows_share_no_run():
    from lecun1989.reporting import results_table

    _report_repo({name: _per_run([(42, 0)], [5.0]) for name in COMMITTED["variants"]} | {"change1_softmax": _per_run([(42, 7)], [4.0])})
    return refusal(lambda: results_table.outputs(Path()))


def test_report_refuses_corrupt_or_unpaired_per_run_files():
    assert corrupt_per_run_file().startswith("data error: metrics/per_run/change1_softmax.json is not a per-run file")
    assert "share no (draw, seed) run to pair" in rows_share_no_run()


def runs_env_unknown(monkeypatch):
    from lecun1989 import runtime

    monkeypatch.setenv("LECUN1989_RUNS", "bogus")
    return refusal(lambda: runtime.runs_mode("cpu"))


def test_an_unknown_runs_mode_is_an_environment_error(monkeypatch):
    assert runs_env_unknown(monkeypatch).startswith("environment error: LECUN1989_RUNS='bogus' is not a choice")


# --- every file read is bounded: size, nesting, integer digits, finite numbers in range -----------


def _report_with(name: str, content) -> str:
    from lecun1989.reporting import results_table

    good = _per_run([(42, 0), (43, 0)], [5.0, 4.0])
    _report_repo({v: good for v in COMMITTED["variants"]} | {name: content})
    return refusal(lambda: results_table.outputs(Path()))


def per_run_nan():
    return _report_with("change1_softmax", json.dumps(_per_run([(42, 0), (43, 0)], [float("nan"), 4.0])))


def per_run_negative_error():
    return _report_with("change2_adamw", _per_run([(42, 0), (43, 0)], [-250.0, 4.0]))


def test_a_per_run_file_with_nan_or_a_negative_error_is_refused_not_published():
    assert per_run_nan().endswith("(NaN is not a number JSON allows): rerun dvc repro -s -f evaluate@change1_softmax")
    assert "(a value of train.error_pct is -250.0, outside 0 to 100)" in per_run_negative_error()
    huge = _report_with("lecun1989", '{"runs": [{"draw": ' + "4" * 5000 + ', "seed": 0}]}')
    assert "(an integer of 5000 digits (at most 30))" in huge


def test_a_file_past_the_size_cap_is_refused_unread(monkeypatch):
    from lecun1989.pipeline import readers

    monkeypatch.setattr(readers, "MAX_BYTES", 100)
    assert "(larger than 100 bytes)" in _report_with("lecun1989", _per_run([(42, 0), (43, 0)], [5.0, 4.0]))
    from lecun1989.pipeline import schema

    monkeypatch.setattr(schema, "MAX_BYTES", 100)
    assert "params.yaml is larger than 100 bytes" in refusal(lambda: load_params("params.yaml"))


def manifest_nested_deep():
    from lecun1989.data import prepared

    Path("draw_42").mkdir()
    Path("draw_42/manifest.json").write_text("[" * 100_000 + "]" * 100_000)
    return refusal(lambda: prepared.load("draw_42"))


def params_long_integer():
    return params_text(pipeline.dump_params(COMMITTED).replace("seed: 0", "seed: " + "9" * 5000, 1))


def test_deep_nesting_and_long_integers_are_one_line():
    from lecun1989.data import prepared

    assert "draw_42/manifest.json is corrupted (nested deeper than 32 levels)" in manifest_nested_deep()
    assert "an integer of 5000 digits; no value here has more than 30" in params_long_integer()
    Path("draw_43").mkdir()
    Path("draw_43/manifest.json").write_text('{"a": ' + "[" * 40 + "]" * 40 + "}")  # valid JSON, 41 deep
    assert "nested deeper than 32 levels" in refusal(lambda: prepared.load("draw_43"))


# --- a schema that names what would go wrong -------------------------------------------------------


def output_bias_overflow():
    return params_edit(lambda p: p["variants"]["lecun1989"].update(output_bias_init=1e39))


def variant_named_paired():
    return params_edit(lambda p: p["variants"].update(paired=p["variants"]["change1_softmax"]))


def test_float32_overflow_and_report_names_are_refused_by_the_schema():
    assert "variants.lecun1989.output_bias_init: 1e+39 is beyond float32" in output_bias_overflow()
    assert "learning rate" not in output_bias_overflow()
    assert "the report writes metrics/paired.json" in variant_named_paired()
    results = params_edit(lambda p: p["variants"].update(results=p["variants"]["change1_softmax"]))
    assert "variants.results: the report writes metrics/results.md" in results


# --- one error boundary around every stage: no traceback, one line with the fix --------------------


def stage_line(main, argv=(), patches=()) -> str:
    """What errors.run_stage prints when main(argv) fails: its one line on stderr (checked to be one)."""
    import contextlib
    import io

    from lecun1989.pipeline import errors, lifetime

    err = io.StringIO()
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stderr(err), pytest.raises(SystemExit) as code:
        mp.setattr(lifetime, "follow_parent", lambda: None)  # in-process: no watcher thread
        for target, name, value in patches:
            mp.setattr(target, name, value)
        errors.run_stage(main, list(argv))
    text = err.getvalue().strip()
    assert code.value.code not in (0, None) and "Traceback" not in text and len(text.splitlines()) == 1, text
    return text


def _raise(error):
    def fail(*args, **kwargs):
        raise error

    return fail


def disk_full_in_params_check():
    from lecun1989.pipeline import params

    Path("params.yaml").write_text(pipeline.dump_params(COMMITTED))
    full = OSError(28, "No space left on device")
    return stage_line(params.main, ["params.yaml", "params.checked"], [(atomic.os, "fsync", _raise(full))])


def read_only_scratch_folder():
    def main(argv):
        with atomic.output_dir("prepared") as scratch:
            (scratch / "x").write_bytes(b"x")

    read_only = OSError(30, "Read-only file system", "prepared")
    return stage_line(main, [], [(atomic.tempfile, "mkdtemp", _raise(read_only))])


def no_permission():
    from lecun1989.pipeline import params

    Path("params.yaml").write_text(pipeline.dump_params(COMMITTED))
    denied = PermissionError(13, "Permission denied", "data")
    return stage_line(params.main, ["params.yaml", "data/params.checked"], [(Path, "mkdir", _raise(denied))])


def name_too_long_for_the_file_system():
    return refusal(lambda: output_guard.check({"models/" + "a" * 300 + ".msgpack": output_guard.file_starting("a model", b"")}))


def not_utf8_path():
    def main(argv):
        "a folder named caf\udce9".encode()  # what a path that is not UTF-8 becomes when written as text

    return stage_line(main)


def recursion():
    def main(argv):
        raise RecursionError("maximum recursion depth exceeded")

    return stage_line(main)


def test_os_errors_become_one_line_with_the_fix():
    assert disk_full_in_params_check().endswith("No space left on device (ENOSPC); the disk is full: free space and rerun")
    assert read_only_scratch_folder().startswith("system error: 'prepared': Read-only file system (EROFS); the folder is on a read-only")
    assert "'data': Permission denied (EACCES); no permission: make the folder writable" in no_permission()
    assert "models/" + "a" * 20 + "...: a name of 308 bytes, more than the file system allows" in name_too_long_for_the_file_system()
    dataset = refusal(lambda: output_guard.check({"data/prepared/" + "z" * 250: output_guard.folder_of("a folder", lambda n: True)}))
    assert "data/prepared/" + "z" * 20 + "...: a name of 250 bytes" in dataset


def test_other_errors_become_one_line():
    assert not_utf8_path().startswith("system error: a path or text that is not UTF-8 (")
    assert recursion().startswith("system error: RecursionError (maximum recursion depth exceeded)")


def num_processes_unicode_digit(monkeypatch):
    from lecun1989 import runtime

    monkeypatch.setenv("JAX_COORDINATOR_ADDRESS", "localhost:1234")
    monkeypatch.setenv("LECUN1989_NUM_PROCESSES", "\u0663")  # ARABIC-INDIC DIGIT THREE: str.isdigit() is true
    return refusal(runtime.processes)


def num_processes_zero(monkeypatch):
    from lecun1989 import runtime

    monkeypatch.setenv("JAX_COORDINATOR_ADDRESS", "localhost:1234")
    monkeypatch.setenv("LECUN1989_NUM_PROCESSES", "0")
    monkeypatch.setenv("LECUN1989_PROCESS_ID", "0")
    return refusal(runtime.processes)


def test_a_process_count_in_other_digits_or_zero_is_refused(monkeypatch):
    from lecun1989 import runtime

    assert "LECUN1989_NUM_PROCESSES='\u0663' is not a whole number in ASCII digits" in num_processes_unicode_digit(monkeypatch)
    assert num_processes_zero(monkeypatch).endswith("LECUN1989_NUM_PROCESSES=0 is less than 1: set it to 1 or more, or unset it")
    monkeypatch.setenv("LECUN1989_NUM_PROCESSES", "\u00b2")  # SUPERSCRIPT TWO: isdigit(), but int() refuses it
    assert "is not a whole number in ASCII digits" in refusal(runtime.processes)


# --- DVC's own files, rewritten in place -----------------------------------------------------------


def dvc_lock_empty():
    from lecun1989.pipeline import dvc_state

    Path("dvc.lock").write_bytes(b"")
    return refusal(dvc_state.check)


def rwlock_cut_short():
    from lecun1989.pipeline import dvc_state

    Path(".dvc/tmp").mkdir(parents=True)
    Path(".dvc/tmp/rwlock").write_text('{"read": {')
    return refusal(dvc_state.check)


def test_dvc_files_cut_short_are_named_with_their_fix():
    from lecun1989.pipeline import dvc_state

    assert dvc_lock_empty().endswith("restore it (git checkout dvc.lock) and rerun")
    assert rwlock_cut_short().endswith("with no dvc command running, remove it (rm .dvc/tmp/rwlock) and rerun")
    Path("dvc.lock").write_text('schema: "2.0"\nstages:\n  x: {cmd: "')  # cut mid-string
    assert "dvc.lock is damaged (" in refusal(dvc_state.check_lock)


# --- docs/refusals.md quotes exactly these messages ---------------------------------------------

CASES = [
    leading_zero,
    duplicate_key,
    alias_bomb,
    not_utf8,
    deep_nesting,
    key_with_newline,
    quoted_number,
    integer_as_float,
    path_as_dataset_key,
    default_baseline_on_other_test_digits,
    no_common_seed,
    params_changed_while_running,
    output_through_symlink,
    output_symlink_inside,
    damaged_model,
    model_of_another_variant,
    model_of_other_params,
    model_of_other_data,
    model_without_record,
    lock_malformed,
    lock_without_record,
    prepared_not_recorded,
    stage_key_not_a_name,
    another_stages_output,
    no_dvc_yaml,
    non_finite_weight,
    idx_header_overflow,
    corrupt_per_run_file,
    rows_share_no_run,
    runs_env_unknown,
    per_run_nan,
    per_run_negative_error,
    manifest_nested_deep,
    params_long_integer,
    output_bias_overflow,
    variant_named_paired,
    disk_full_in_params_check,
    read_only_scratch_folder,
    no_permission,
    name_too_long_for_the_file_system,
    not_utf8_path,
    recursion,
    num_processes_unicode_digit,
    num_processes_zero,
    dvc_lock_empty,
    rwlock_cut_short,
]
LABELS = ("params error: ", "output error: ", "data error: ", "environment error: ", "system error: ", "native CPU engine")


def doc_messages() -> list[str]:
    """Every `...` in docs/refusals.md that starts with a label; … stands for a part that varies."""
    return [m for m in re.findall(r"`([^`]+)`", DOC.read_text()) if m.startswith(LABELS)]


def matches(doc: str, message: str) -> bool:
    return re.fullmatch(".+?".join(map(re.escape, doc.split("…"))), message) is not None


def test_the_refusals_doc_quotes_every_message_and_only_those(tmp_path, monkeypatch):
    produced = {}
    for i, case in enumerate(CASES):
        folder = tmp_path / f"case{i}"
        folder.mkdir()
        monkeypatch.chdir(folder)
        inputs.forget()
        with pytest.MonkeyPatch.context() as patches:  # an environment case sets variables for itself only
            produced[case.__name__] = case(patches) if inspect.signature(case).parameters else case()
    for case in (native_cache_unwritable, native_truncated, native_does_not_load, native_library_is_a_folder):
        (tmp_path / case.__name__).mkdir()
        with pytest.MonkeyPatch.context() as patches:  # each case its own build cache
            produced[case.__name__] = case(tmp_path / case.__name__, patches)
    quoted = doc_messages()
    unquoted = {name: m for name, m in produced.items() if not any(matches(d, m) for d in quoted)}
    assert not unquoted, f"messages docs/refusals.md does not quote: {unquoted}"
    stale = [d for d in quoted if not any(matches(d, m) for m in produced.values())]
    assert not stale, f"docs/refusals.md quotes messages no test produces: {stale}"


# --- the native library (lecun1989/training/native/build.py; test_native.py compiles it for real) --


def _native_main(build) -> str:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        build.main()
    return out.getvalue().strip()


def native_cache_unwritable(tmp_path, monkeypatch):
    from lecun1989.training.native import build

    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    monkeypatch.setattr(build, "library_path", lambda: blocked / "native" / "lib.so")
    return _native_main(build)


def _stand_in_compiler(build, monkeypatch, tmp_path, output: bytes | None):
    """The build cache in tmp_path; "compiling" copies the real library (None) or writes `output`."""
    real = build.build()
    folder = tmp_path / "native"
    monkeypatch.setattr(build, "library_path", lambda: folder / "lib.so")

    def compile_(cmd, **kw):
        Path(cmd[-1]).write_bytes(real.read_bytes() if output is None else output)
        return build.subprocess.CompletedProcess(cmd, 0, stdout="stand-in compiler 1.0\n", stderr="")

    monkeypatch.setattr(build, "_run", compile_)
    return folder / "lib.so"


def native_truncated(tmp_path, monkeypatch):
    """A library cut short in the cache (it would crash the process with SIGBUS) is found by its size and rebuilt."""
    from lecun1989.training.native import build

    library = _stand_in_compiler(build, monkeypatch, tmp_path, None)
    assert "(built), compiled by stand-in compiler 1.0" in _native_main(build)
    assert "(up to date), compiled by " in _native_main(build)
    cut = library.with_name("cut")  # a new file: this process has the old one mapped (cut in place, it would crash)
    cut.write_bytes(library.read_bytes()[:100])
    cut.replace(library)
    return _native_main(build)


def native_does_not_load(tmp_path, monkeypatch):
    """A library that is what its build wrote but cannot be loaded: the line names the file to delete."""
    from lecun1989.training.native import build

    _stand_in_compiler(build, monkeypatch, tmp_path, b"\x7fELF not a library")
    return _native_main(build)


def test_an_unwritable_native_cache_is_one_line(tmp_path, monkeypatch):
    assert native_cache_unwritable(tmp_path, monkeypatch).endswith(
        "set LECUN1989_NATIVE_CACHE to a writable folder); training will use the XLA engine"
    )


def test_a_truncated_library_is_rebuilt_not_loaded(tmp_path, monkeypatch):
    rebuilt = native_truncated(tmp_path, monkeypatch)
    assert re.search(r"\(rebuilt: the cached library is 100 bytes, \d+ when built \(truncated or replaced\)\), compiled by ", rebuilt)


def test_a_library_that_does_not_load_names_the_file_to_delete(tmp_path, monkeypatch):
    assert "lib.so) and run make native); training will use the XLA engine" in native_does_not_load(tmp_path, monkeypatch)


def native_library_is_a_folder(tmp_path, monkeypatch):
    """A folder where the library goes is named as such, not blamed on the cache's writability."""
    from lecun1989.training.native import build

    (tmp_path / "native" / "lib.so").mkdir(parents=True)
    monkeypatch.setattr(build, "library_path", lambda: tmp_path / "native" / "lib.so")
    return _native_main(build)


def test_a_folder_at_the_library_path_is_named(tmp_path, monkeypatch):
    message = native_library_is_a_folder(tmp_path, monkeypatch)
    assert "lib.so is a folder, where the build writes a file: remove it (rm -r " in message
    assert "writable" not in message
