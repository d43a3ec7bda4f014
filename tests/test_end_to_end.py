"""The whole pipeline on tiny data, through DVC as a user runs it."""

import json
import subprocess
import sys

import numpy as np
import pipeline
import pytest

from lecun1989 import runtime
from lecun1989.data.variant_runs import trained_on, variant_runs
from lecun1989.evaluation import scoring
from lecun1989.pipeline.schema import load_params
from lecun1989.training import checkpoint
from lecun1989.training.epoch_checks import NOT_LEARNED_PCT

pytestmark = pytest.mark.pipeline  # runs stages, DVC or make as processes


def test_repro_writes_every_output_and_parsable_metrics(tiny_repo, monkeypatch):
    monkeypatch.chdir(tiny_repo)  # where its dvc.lock records the models
    variants = pipeline.TINY_VARIANTS
    params = load_params(tiny_repo / "params.yaml")
    assert (tiny_repo / "data/MNIST/raw/train-images-idx3-ubyte").is_file()
    for draw in pipeline.TINY_DATASET["draws"]:
        assert (tiny_repo / f"data/prepared/zip1989/draw_{draw}/manifest.json").is_file()
    for name in variants:
        assert (tiny_repo / f"models/{name}.msgpack").stat().st_size > 9760 * 4
        metrics = json.loads((tiny_repo / f"metrics/{name}.json").read_text())
        assert metrics["n_seeds"] == 2 and metrics["n_draws"] == 2 and metrics["n_runs"] == 4
        assert metrics["test"]["n"] == 200 and metrics["train"]["n"] == 300 and metrics["val"]["n"] == 100
        per_run = json.loads((tiny_repo / f"metrics/per_run/{name}.json").read_text())
        assert [(r["draw"], r["seed"]) for r in per_run["runs"]] == [(d, s) for d in (42, 43) for s in (0, 1)]
        errors = np.array(per_run["test"]["error_pct"])
        np.testing.assert_allclose(errors, 100 * np.array(per_run["test"]["misses"]) / 200)
        assert metrics["test"]["error_pct"] == scoring.spread(errors)
        assert metrics["test"]["error_pct_by_draw"] == {"draw_42": errors[:2].mean(), "draw_43": errors[2:].mean()}
        assert metrics["train"]["error_pct"]["max"] < NOT_LEARNED_PCT  # the train stage's own check let them through
        runs = variant_runs(name, tiny_repo / "params.yaml")
        provenance = trained_on(runs, tiny_repo / "data/prepared/zip1989")
        assert provenance["variant"] == name and set(provenance["prepared"]) == {"draw_42", "draw_43"}
        _, trained_by = checkpoint.load(tiny_repo / f"models/{name}.msgpack", params.variants[name], 4, provenance)
        engines = metrics["engine"]
        assert set(engines) == {"train", "evaluate"} and engines["train"] == trained_by
        assert trained_by.startswith(("native engine (", "xla engine (")) and engines["evaluate"].startswith(trained_by.split(" (")[0])
    shown = pipeline.run(["dvc", "metrics", "show", "--md"], tiny_repo).stdout
    assert all(f"metrics/{name}.json" in shown for name in variants)
    assert "metrics/paired.json" in shown  # the report stage's paired differences


def test_second_repro_runs_nothing(tiny_repo):
    out = pipeline.run(["dvc", "repro"], tiny_repo).stdout
    assert "Running stage" not in out, out
    assert pipeline.run(["dvc", "status", "-q"], tiny_repo, check=False).returncode == 0


def test_forced_repro_is_bit_identical(tiny_repo):
    """Every stage reruns and gives the same bytes: dvc.lock records the md5 of every output,
    metrics and history included, so an identical lock means identical outputs."""
    before = (tiny_repo / "dvc.lock").read_text()
    out = pipeline.run(["dvc", "repro", "-f"], tiny_repo).stdout
    n_stages = 5 + 2 * len(
        pipeline.TINY_VARIANTS
    )  # check_params, both downloads, preprocess@zip1989, train/evaluate of each variant, report
    assert out.count("Running stage") == n_stages, out
    assert (tiny_repo / "dvc.lock").read_text() == before


def test_compiled_programs_cache_cold_warm_or_off_gives_the_same_model(tiny_repo, tmp_path):
    """The train stage with JAX's compilation cache empty (it compiles and stores every program),
    filled (it loads them all and stores nothing new) and off trains the model the pipeline made."""
    cache, made = tmp_path / "jax-cache", (tiny_repo / "models/lecun1989.msgpack").read_bytes()
    entries = []
    for how, setting in (("cold", cache), ("warm", cache), ("off", "0")):
        env = {**pipeline.env(), runtime.JAX_CACHE_ENV: str(setting)}
        model, curves = "models/lecun1989.msgpack", "metrics/curves/lecun1989"  # its own outputs: a stage writes no others
        cmd = [sys.executable, "-m", "stages.train", "lecun1989", "data/prepared/zip1989", model, curves, "--quiet"]
        subprocess.run(cmd, cwd=tiny_repo, env=env, check=True, capture_output=True)
        assert (tiny_repo / model).read_bytes() == made, how
        entries.append(sorted(p.name for p in cache.iterdir()) if cache.exists() else [])
    assert entries[0] and entries[1] == entries[0] == entries[2], "the warm run compiled something anew"


def test_an_unwritable_compile_cache_is_one_line_and_no_cache(tmp_path):
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    code = "from lecun1989 import runtime; runtime.configure(); import jax; print(jax.config.jax_compilation_cache_dir)"
    env = {**pipeline.env(), runtime.JAX_CACHE_ENV: str(blocked / "jax")}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "None"
    assert result.stderr.count("\n") == 1 and "cannot write" in result.stderr and runtime.JAX_CACHE_ENV in result.stderr, result.stderr


def test_evaluate_lists_misread_digits_and_report_pairs_them(tiny_repo):
    """Each run's misread test digits match its miss count, and McNemar's discordant counts of a pair
    differ by exactly the difference of the paired runs' misses (b - c = misses - base misses)."""
    runs = {v: json.loads((tiny_repo / f"metrics/per_run/{v}.json").read_text()) for v in pipeline.TINY_VARIANTS}
    for per_run in runs.values():
        misread = per_run["test"]["misread"]
        assert [len(m) for m in misread] == per_run["test"]["misses"] and all(m == sorted(set(m)) for m in misread)
    name, base = pipeline.TINY_VARIANTS[1], pipeline.TINY_VARIANTS[0]
    entry = json.loads((tiny_repo / "metrics/paired.json").read_text())[f"{name}-{base}"]
    m = entry["mcnemar"]
    assert m["only_variant_wrong"] - m["only_baseline_wrong"] == sum(runs[name]["test"]["misses"]) - sum(runs[base]["test"]["misses"])
    assert 0 < m["p"] <= 1 and entry["ci95_low"] <= entry["mean"] <= entry["ci95_high"]


def test_a_usps_row_through_dvc_has_no_validation_split_and_draws_the_digits_figure(tmp_path):
    """The paper's digits end to end: download_usps, a USPS resplit, a row trained and evaluated
    without validation digits (no val anywhere, a dash in the table), and docs/figures/digits.png
    redrawn from the run's downloads byte for byte."""
    params = pipeline.tiny_params(variants=())
    params["datasets"] = {"usps": {"database": "usps", "split": "resplit", "draws": [42]}}
    params["variants"] = {"lecun1989_usps": {**yaml_params()["variants"]["lecun1989_usps"], **pipeline.TINY_VARIANT}}
    repo = pipeline.make_tiny_repo(tmp_path / "repo", params)
    pipeline.run(["dvc", "repro"], repo)
    metrics = json.loads((repo / "metrics/lecun1989_usps.json").read_text())
    assert "val" not in metrics and metrics["train"]["n"] == 7291 and metrics["test"]["n"] == 2007
    assert not list((repo / "metrics/curves/lecun1989_usps/plots/metrics/mean").glob("val_*"))
    row = next(line for line in (repo / "metrics/results.md").read_text().splitlines() if line.startswith("| lecun1989_usps |"))
    assert " | USPS | 7,291 | 2 | 2 (1 × 2) | " in row and " | — | " in row
    sys.path.insert(0, str(pipeline.ROOT / "tools"))
    import readme_figures

    assert readme_figures.digits(repo / "data") == (pipeline.ROOT / "docs/figures/digits.png").read_bytes()


def yaml_params() -> dict:
    import yaml

    return yaml.safe_load((pipeline.ROOT / "params.yaml").read_text())
