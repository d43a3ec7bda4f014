"""A bad params.yaml is refused by every stage's entry point: exit code 2, one line naming the key
path, the bad value and what is allowed, and nothing written. The data folders the stages are
pointed at do not exist, so a stage that loaded data before checking its params would exit 1.
The cases run each stage's main() in this process; two of them run the stage's script as a
process, as DVC does."""

import contextlib
import importlib
import io
import subprocess
import sys
from types import SimpleNamespace

import pytest
import yaml
from pipeline import ROOT

OUTPUTS = {  # each stage's command line, all paths relative to an empty folder
    "download": ["raw"],
    "preprocess": ["zip1989", "raw", "usps_raw", "prepared"],
    "download_usps": ["usps_raw"],
    "train": ["lecun1989", "prepared", "models/lecun1989.msgpack", "metrics/curves/lecun1989"],
    "evaluate": ["lecun1989", "prepared", "models/lecun1989.msgpack", "metrics/lecun1989.json", "metrics/per_run/lecun1989.json"],
}

SET, DELETE = "set", "delete"

CASES = [  # stage, edit, key path, value, expected words of the message
    ("train", SET, "variants.change2_adamw.lr", -0.01, ["variants.change2_adamw.lr = -0.01", "greater than 0"]),
    ("train", SET, "variants.lecun1989.lr", 0.0, ["variants.lecun1989.lr = 0.0", "greater than 0"]),
    ("train", SET, "variants.change4_relu_dropout.epochs", 0, ["variants.change4_relu_dropout.epochs = 0", "greater than or equal to 1"]),
    ("preprocess", SET, "datasets.zip1989.n_train", 60001, ["datasets.zip1989.n_train = 60001", "less than or equal to 59999"]),
    ("preprocess", SET, "datasets.zip1989.n_val", 52710, ["datasets.zip1989", "n_train + n_val = 60001", "60000 training digits"]),
    ("preprocess", SET, "datasets.zip1989.draws", [42, 42], ["datasets.zip1989", "draws = [42, 42]", "listed twice"]),
    ("train", SET, "variants.lecun1989.dataset", "zip", ["variants.lecun1989.dataset = 'zip'", "not a key of datasets"]),
    (
        "evaluate",
        SET,
        "variants.change1_softmax.baseline",
        "nothing",
        ["variants.change1_softmax.baseline = 'nothing'", "another key of variants"],
    ),
    ("preprocess", SET, "datasets.zip1989.n_test", 10001, ["datasets.zip1989.n_test = 10001", "less than or equal to 10000"]),
    ("train", SET, "variants.lecun1989.activation", "sigmoid", ["variants.lecun1989.activation = 'sigmoid'", "'scaled_tanh' or 'relu'"]),
    ("train", SET, "variants.change2_adamw.optimizer", "adam", ["variants.change2_adamw.optimizer = 'adam'", "'sgd', 'adamw' or 'sdlm'"]),
    ("download", SET, "data.source", "kaggle", ["data.source = 'kaggle'", "'pypi' or 'torchvision'"]),
    ("evaluate", SET, "variants.lecun1989.n_seeds", 0, ["variants.lecun1989.n_seeds = 0", "greater than or equal to 1"]),
    ("train", SET, "variants.lecun1989.learning_rate", 0.1, ["variants.lecun1989.learning_rate = 0.1", "unknown key", "lr_schedule"]),
    ("download", SET, "colour", "blue", ["colour = 'blue'", "unknown key", "data, datasets, variants"]),
    ("train", SET, "variants.lecun1989.epochs", 2.5, ["variants.lecun1989.epochs = 2.5", "valid integer"]),
    ("preprocess", SET, "datasets.zip1989.antialias", "yes", ["datasets.zip1989.antialias = 'yes'", "valid boolean"]),
    ("train", SET, "variants.lecun1989.dropout", 1.0, ["variants.lecun1989.dropout = 1.0", "less than 1"]),
    ("train", SET, "variants.lecun1989.output_bias_init", float("nan"), ["variants.lecun1989.output_bias_init = nan", "finite number"]),
    ("train", SET, "variants.lecun1989.lr_end", 0.01, ["variants.lecun1989", "lr_end = 0.01", "lr_schedule 'constant'", "null"]),
    ("evaluate", DELETE, "variants.lecun1989.seed", None, ["variants.lecun1989.seed", "missing"]),
    ("train", SET, "variants.LeCun", {}, ["variants.LeCun", "should match pattern"]),
    ("train", SET, "variants.change2_adamw.sdlm", {"mu": 0.02, "hessian_samples": 500}, ["optimizer 'adamw'", "remove the sdlm key"]),
    ("train", DELETE, "variants.lecun1989_paper.sdlm", None, ["variants.lecun1989_paper", "sdlm missing", "mu"]),
    ("train", SET, "variants.lecun1989_paper.weight_decay", 0.01, ["variants.lecun1989_paper", "weight_decay = 0.01", "only adamw"]),
    ("train", SET, "variants.lecun1989_paper.loss", "softmax_xent", ["variants.lecun1989_paper", "optimizer 'sdlm'", "use loss 'mse'"]),
    ("train", SET, "variants.change1_softmax.head", "scaled_tanh", ["change1_softmax", "head = 'scaled_tanh'", "head 'linear'"]),
    ("train", SET, "variants.lecun1989_paper.sdlm.mu", 0.0, ["variants.lecun1989_paper.sdlm.mu = 0.0", "greater than 0"]),
    ("train", SET, "variants.lecun1989_paper.sdlm.eps", 0.1, ["variants.lecun1989_paper.sdlm.eps", "unknown key", "mu, hessian_samples"]),
    ("train", SET, "variants.lecun1989_paper.sdlm.hessian_samples", 8000, ["hessian_samples = 8000", "datasets.zip1989.n_train = 7291"]),
    ("train", SET, "variants.lecun1989_paper.lr_end", None, ["variants.lecun1989_paper", "lr_schedule 'geometric_per_epoch'", "last step"]),
    ("train", SET, "variants.lecun1989_paper.activation", "sigmoid", ["'tanh', 'scaled_tanh' or 'relu'"]),
    # USPS: its own keys, no pair across databases, the paper's split needs its files
    ("preprocess", SET, "datasets.usps.n_val", 100, ["datasets.usps.n_val = 100", "unknown key", "database, split, draws"]),
    ("preprocess", SET, "datasets.usps.split", "random", ["datasets.usps.split = 'random'", "'resplit' or 'paper'"]),
    ("preprocess", SET, "datasets.usps.database", "kmnist", ["datasets.usps.database = 'kmnist'", "database: mnist or database: usps"]),
    ("preprocess", DELETE, "datasets.zip1989.database", None, ["datasets.zip1989.database = None", "database: mnist or database: usps"]),
    ("evaluate", SET, "variants.change4_usps.baseline", "change4_relu_dropout", ["change4_usps", "USPS", "MNIST", "across databases"]),
    ("train", SET, "variants.lecun1989_usps.baseline", "lecun1989", ["lecun1989_usps", "across databases", "give a baseline on USPS"]),
    ("preprocess", SET, "datasets.usps.split", "paper", ["datasets.usps", "with split 'paper'", "one fixed draw"]),
    (
        "train",
        SET,
        "datasets.usps",
        {"database": "usps", "split": "paper", "draws": [0]},
        ["split = 'paper' needs data.usps_paper_split", "usps.bz2"],
    ),
    ("download_usps", SET, "data.usps_paper_split", 7, ["data.usps_paper_split = 7", "valid string"]),
]


def edit(params: dict, how: str, path: str, value) -> None:
    *parents, key = path.split(".")
    for part in parents:
        params = params[part]
    if how == DELETE:
        del params[key]
    else:
        params[key] = value


def run_stage(stage: str, folder, params_file: str = "params.yaml", args=None):
    """The stage's main() run as its script runs it, in folder: (returncode, stderr)."""
    from lecun1989.pipeline.errors import run_stage as entry

    argv = [*(args or OUTPUTS[stage]), "--params", params_file]
    main = importlib.import_module(f"stages.{stage}").main
    err = io.StringIO()
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stderr(err):
        mp.chdir(folder)
        try:
            entry(main, argv)
            code = 0
        except SystemExit as e:
            code = e.code
    return SimpleNamespace(returncode=code, stderr=err.getvalue())


def run_script(stage: str, folder, args=None) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", f"stages.{stage}", *(args or OUTPUTS[stage]), "--params", str(folder / "params.yaml")]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)


def assert_refused(result, folder, words) -> None:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("params error: "), result.stderr
    for word in words:
        assert word in lines[0], f"{word!r} not in: {lines[0]}"
    assert sorted(p.name for p in folder.iterdir()) == ["params.yaml"], "a refused stage wrote something"


@pytest.mark.parametrize("stage, how, path, value, words", CASES, ids=[f"{c[0]}-{c[2]}={c[3]!r}" for c in CASES])
def test_bad_params_refused(tmp_path, stage, how, path, value, words):
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    edit(params, how, path, value)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    assert_refused(run_stage(stage, tmp_path), tmp_path, words)


@pytest.mark.parametrize("stage", ["preprocess", "train"])
def test_a_stage_process_refuses_bad_params(tmp_path, stage):
    """As DVC runs it: the script as a process, its outputs named relative to an empty folder."""
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    edit(params, SET, "datasets.zip1989.n_test" if stage == "preprocess" else "variants.lecun1989.lr", 0)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    args = [str(tmp_path / a) if "/" in a or a in ("raw", "prepared") else a for a in OUTPUTS[stage]]
    assert_refused(run_script(stage, tmp_path, args), tmp_path, ["= 0", "greater than"])


def test_unknown_variant_refused(tmp_path):
    (tmp_path / "params.yaml").write_text((ROOT / "params.yaml").read_text())
    args = ["lecun1990", "prepared", "models/m.msgpack", "metrics/curves/m"]
    assert_refused(run_stage("train", tmp_path, args=args), tmp_path, ["'lecun1990'", "known: lecun1989, change1_softmax"])


def test_invalid_yaml_refused(tmp_path):
    (tmp_path / "params.yaml").write_text("data: {source: pypi\n")
    assert_refused(run_stage("preprocess", tmp_path), tmp_path, ["params.yaml is not valid YAML"])


def test_committed_params_are_valid():
    from lecun1989.pipeline.schema import load_params

    p = load_params(ROOT / "params.yaml")  # valid; test_variants.py checks the list of its rows
    # karpathy's blog rows: 50,000 digits on the same draws and test digits as zip1989, paired with its rows
    assert p.datasets["mnist50k"].n_train == 50000 and set(p.datasets["mnist50k"].draws) <= set(p.datasets["zip1989"].draws)
    assert p.datasets["mnist50k"].n_test == p.datasets["zip1989"].n_test
    assert p.baseline_of("lecun1989_50k") == "lecun1989" and p.variants["lecun1989_50k"].epochs == 100
    assert p.baseline_of("change4_50k") == "change4_relu_dropout"
    # the USPS rows: MNIST's hyperparameters, no validation digits, paired within USPS only
    assert p.baseline_of("lecun1989_usps") is None and p.datasets["usps"].n_val == 0
    assert {p.baseline_of(n) for n in ("lecun1989_paper_usps", "change4_usps")} == {"lecun1989_usps"}
    for usps, mnist in (
        ("lecun1989_usps", "lecun1989"),
        ("lecun1989_paper_usps", "lecun1989_paper"),
        ("change4_usps", "change4_relu_dropout"),
    ):
        assert p.variants[usps].model_dump(exclude={"dataset", "baseline"}) == p.variants[mnist].model_dump(exclude={"dataset", "baseline"})
