"""Learning curves, confusion matrices, misread digits and the reject metric: the scoring helpers,
and the train and evaluate stages' files for one tiny variant, as `dvc plots show` reads them."""

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from lecun1989.evaluation import figures, scoring
from lecun1989.evaluation.outputs import confusion_csv

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
STAGES = ["download", "preprocess", "train", "evaluate"]


# --- the reject metric ----------------------------------------------------------------------------


def outputs_with(margin_rank_wrong: set[int], n: int) -> tuple[np.ndarray, np.ndarray]:
    """n digits whose margins are 1..n (in a shuffled order); those of the given margin ranks
    (0 = lowest margin) are read wrong, the others right."""
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, n)
    margin_rank = rng.permutation(n)
    outputs = np.zeros((n, 10))
    for i in range(n):
        guess = (labels[i] + 1) % 10 if margin_rank[i] in margin_rank_wrong else labels[i]
        outputs[i, guess] = margin_rank[i] + 1.0  # top-1 minus top-2 (all others 0) is rank + 1
    return outputs, labels


def test_margins_are_top1_minus_top2():
    out = np.array([[0.1, 0.9, -1.0, 0.5], [-0.2, -0.9, -0.3, -0.25]])
    np.testing.assert_allclose(scoring.margins(out), [0.4, 0.05])


def test_reject_hand_made_example():
    # 400 digits, 5 wrong: the 4 least confident and one confidently wrong (rank 300).
    # Reject 0: 5/400 = 1.25%; reject 1: 4/399 = 1.003%; reject 2: 3/398 = 0.75% <= 1%.
    outputs, labels = outputs_with({0, 1, 2, 3, 300}, 400)
    assert scoring.reject_pct(outputs, labels) == pytest.approx(100 * 2 / 400)
    other, labels = outputs_with({0, 1, 2, 3, 4, 5, 6}, 400)  # 7 least confident wrong: 4/397 > 1% >= 3/396
    assert scoring.reject_pct(other, labels) == pytest.approx(100 * 4 / 400)


def test_reject_edge_cases():
    outputs, labels = outputs_with(set(), 50)
    assert scoring.reject_pct(outputs, labels) == 0.0  # no misses: nothing to reject
    outputs, labels = outputs_with(set(range(50)), 50)
    assert scoring.reject_pct(outputs, labels) == 100.0  # all wrong: reject everything
    outputs, labels = outputs_with({49}, 50)  # one confident miss in 50: 1/(50-k) <= 1% never
    assert scoring.reject_pct(outputs, labels) == 100.0
    outputs, labels = outputs_with({49}, 100)  # one miss in 100 is exactly 1%
    assert scoring.reject_pct(outputs, labels) == 0.0


def test_error_at_reject_matches_definition():
    outputs, labels = outputs_with({0, 1, 2, 3, 300}, 400)
    err = scoring.error_at_reject(outputs, labels, [0.0, 0.25, 0.5, 1.0])
    np.testing.assert_allclose(err, [100 * 5 / 400, 100 * 4 / 399, 100 * 3 / 398, 100 * 1 / 396])


def test_confusion_csv_lists_every_digit_of_every_run():
    outputs, labels = outputs_with({0, 1, 2, 3, 300}, 400)
    predicted = scoring.predictions(np.stack([outputs, np.eye(10)[labels]]))  # the second run reads every digit right
    rows = list(csv.DictReader(io.StringIO(confusion_csv(["d1_s0", "d1_s1"], predicted, np.stack([labels, labels])).decode())))
    assert [r["run"] for r in rows] == ["d1_s0"] * 400 + ["d1_s1"] * 400
    for run, wrong in (("d1_s0", 5), ("d1_s1", 0)):
        counts = np.zeros((10, 10), int)
        for r in rows:
            if r["run"] == run:
                counts[int(r["actual"]), int(r["predicted"])] += 1
        assert counts.sum() - np.trace(counts) == wrong
        np.testing.assert_array_equal(counts.sum(axis=1), np.bincount(labels, minlength=10))
    assert scoring.misses(outputs, labels) == 5


# --- PNG bytes ------------------------------------------------------------------------------------


def test_misread_png_is_deterministic_and_versionless():
    rng = np.random.default_rng(1)
    images = rng.uniform(-1, 1, (7, 16, 16)).astype(np.float32)
    args = (images, [1, 2, 3, 4, 5, 6, 7], [7, 1, 2, 3, 4, 5, 6], ["1/2"] * 7, "test")
    a, b = figures.misread_digits(*args), figures.misread_digits(*args)
    assert a == b and a.startswith(b"\x89PNG")
    assert b"matplotlib" not in a.lower()
    assert figures.misread_digits(images[:0], [], [], [], "none").startswith(b"\x89PNG")


# --- progress ----------------------------------------------------------------------------------


def test_progress_plain_lines_and_quiet():
    from lecun1989.training import progress

    scores = {split: {"loss": np.array([0.5, 0.25]), "error": np.array([4.0, 2.0])} for split in ("train", "val", "test")}
    scores["test"] = {"loss": np.array([9.0]), "error": np.array([99.0])}  # never shown
    stream = io.StringIO()  # not a terminal: plain lines, no bar
    bar = progress.Progress("lecun1989", 4, 2, quiet=False, stream=stream)
    bar.epoch(1, scores, 10.0)
    bar.close()
    line = stream.getvalue()
    assert line.count("\n") == 1
    for part in ("lecun1989", "epoch 1/4", "train loss 0.375", "error 3.00%", "val loss 0.375", "elapsed 10s", "eta 30s"):
        assert part in line, (part, line)
    assert "test" not in line and "99" not in line, line
    quiet = io.StringIO()
    progress.Progress("lecun1989", 4, 2, quiet=True, stream=quiet).epoch(1, scores, 10.0)
    assert quiet.getvalue() == ""


# --- command lines --------------------------------------------------------------------------------


@pytest.mark.parametrize("script", [f"stages/{s}.py" for s in STAGES] + ["tools/readme_figures.py"])
def test_help_exits_0(script):
    r = subprocess.run([sys.executable, script, "--help"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "Reads" in r.stdout and "Writes" in r.stdout


def test_dvc_yaml_names_no_variant():
    """Every plot is declared inside the train and evaluate foreach: a variant added to params.yaml
    gets its plots without an edit here (test_dvc_plots_show_holds_every_plot adds one and looks)."""
    text = (ROOT / "dvc.yaml").read_text()
    variants = yaml.safe_load((ROOT / "params.yaml").read_text())["variants"]
    assert "plots" not in yaml.safe_load(text), "top-level plots would have to list every variant"
    named = [v for v in variants if re.search(rf"\b{v}\b(?![/.])", text)]  # not the package lecun1989/...
    assert not named, f"dvc.yaml names variants {named}"


# --- a tiny run of train and evaluate, then `dvc plots show` --------------------------------------

N_TRAIN, N_VAL, N_TEST = 40, 20, 30
DRAWS = [42, 43]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A scratch repository holding dvc.yaml, a tiny params.yaml of one variant (2 seeds, 2 epochs,
    2 draws) that dvc.yaml never names, and its train and evaluate outputs on synthetic 16x16 digits
    (in-process: no downloads)."""
    from lecun1989.data import prepared
    from stages import evaluate, train

    repo = tmp_path_factory.mktemp("repo")
    shutil.copy(ROOT / "dvc.yaml", repo / "dvc.yaml")
    shutil.copytree(ROOT / ".dvc", repo / ".dvc", ignore=shutil.ignore_patterns("tmp", "cache"))
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["variants"] = {"added_later": {**params["variants"]["lecun1989"], "epochs": 2, "n_seeds": 2, "dataset": "tiny"}}
    params["datasets"] = {
        "tiny": {"database": "mnist", "n_train": N_TRAIN, "n_val": N_VAL, "n_test": N_TEST, "draws": DRAWS, "antialias": True}
    }
    (repo / "params.yaml").write_text(yaml.safe_dump(params))
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)

    rng = np.random.default_rng(0)
    splits = {}
    for split, n in (("train", N_TRAIN), ("val", N_VAL), ("test", N_TEST)):
        y = (np.arange(n) % 10).astype(np.uint8)
        x = np.full((n, 16, 16), -1.0, np.float32)
        for i, label in enumerate(y):  # a learnable stroke per class, plus noise
            x[i, label + 3, 2:14] = 1.0
        x = np.clip(x + rng.normal(0, 0.3, x.shape), -1, 1).astype(np.float32)
        splits[split] = {"x": x, "y": y, "index": np.arange(n, dtype=np.int64)}
    prepared.save(repo / "data/prepared/tiny", dict.fromkeys(DRAWS, splits))

    # Every variant's plots come from the same foreach in dvc.yaml (test_dvc_yaml_names_no_variant);
    # the full pipeline on real digits and several variants: tests/test_end_to_end.py's tiny repository.
    variants = list(params["variants"])
    cwd = os.getcwd()
    os.chdir(repo)  # DVCLive looks for the DVC repo from the working directory
    try:
        for v in variants:
            train.main([v, "data/prepared/tiny", f"models/{v}.msgpack", f"metrics/curves/{v}", "--quiet"])
            evaluate.main(
                [
                    v,
                    "data/prepared/tiny",
                    f"models/{v}.msgpack",
                    f"metrics/{v}.json",
                    f"metrics/per_run/{v}.json",
                    "--confusion",
                    f"metrics/confusion/{v}.csv",
                    "--reject-curve",
                    f"metrics/reject/{v}.csv",
                    "--misread",
                    f"metrics/misread/{v}.png",
                ]
            )
    finally:
        os.chdir(cwd)
    return repo, variants


def test_confusion_file_matches_misses(tiny_run):
    repo, variants = tiny_run
    for v in variants:
        with open(repo / "metrics/confusion" / f"{v}.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        per_run = json.loads((repo / "metrics/per_run" / f"{v}.json").read_text())
        assert [(r["draw"], r["seed"]) for r in per_run["runs"]] == [(d, s) for d in DRAWS for s in (0, 1)]
        for run, misses in zip(per_run["runs"], per_run["test"]["misses"]):
            counts = np.zeros((10, 10), int)
            for r in rows:
                if r["run"] == f"d{run['draw']}_s{run['seed']}":
                    counts[int(r["actual"]), int(r["predicted"])] += 1
            assert counts.sum() == N_TEST
            assert counts.sum() - np.trace(counts) == misses
        metrics = json.loads((repo / "metrics" / f"{v}.json").read_text())
        assert metrics["test"]["error_pct"] == scoring.spread(per_run["test"]["error_pct"])
        np.testing.assert_allclose(per_run["test"]["error_pct"], 100 * np.array(per_run["test"]["misses"]) / N_TEST)


def test_reject_metric_and_curve_agree_with_the_per_run_numbers(tiny_run):
    repo, variants = tiny_run
    for v in variants:
        per_run = json.loads((repo / "metrics/per_run" / f"{v}.json").read_text())
        metrics = json.loads((repo / "metrics" / f"{v}.json").read_text())
        reject = per_run["test"]["reject_for_1pct_error"]
        assert metrics["test"]["reject_for_1pct_error"] == scoring.spread(reject)
        np.testing.assert_allclose(np.array(reject) * N_TEST / 100, np.round(np.array(reject) * N_TEST / 100))  # whole digits
        with open(repo / "metrics/reject" / f"{v}.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        assert [float(r["rejected_pct"]) for r in rows][:3] == [0.0, 0.25, 0.5] and float(rows[-1]["rejected_pct"]) == 20.0
        labels = [f"d{r['draw']}_s{r['seed']}" for r in per_run["runs"]]
        np.testing.assert_allclose([float(rows[0][f"error_{run}"]) for run in labels], per_run["test"]["error_pct"], rtol=1e-5)
        for r in rows:
            errors = [float(r[f"error_{run}"]) for run in labels]
            assert float(r["error_mean"]) == pytest.approx(np.mean(errors), rel=1e-5)
            assert float(r["error_min"]) == pytest.approx(min(errors)) and float(r["error_max"]) == pytest.approx(max(errors))


def test_learning_curves_have_every_run_and_epoch(tiny_run):
    repo, variants = tiny_run
    runs = [f"d{d}_s{s}" for d in DRAWS for s in (0, 1)]
    for v in variants:
        folder = repo / "metrics/curves" / v / "plots/metrics"
        assert sorted(p.name for p in folder.iterdir()) == ["max", "mean", "min", "runs"]
        assert sorted(p.name for p in (folder / "runs").iterdir()) == runs
        for stat in [f"runs/{r}" for r in runs] + ["mean", "min", "max"]:
            for name in (f"{split}_{q}" for split in ("train", "val", "test") for q in ("loss", "error")):
                lines = (folder / stat / f"{name}.tsv").read_text().splitlines()
                assert lines[0] == f"step\t{name}" and [line.split("\t")[0] for line in lines[1:]] == ["1", "2"]
        assert "timestamp" not in (folder / "mean/test_error.tsv").read_text()
    assert (repo / "dvc.yaml").read_text() == (ROOT / "dvc.yaml").read_text(), "DVCLive edited dvc.yaml"
    assert not list(repo.glob("metrics/curves/*/dvc.yaml")), "DVCLive wrote a dvc.yaml"


def test_dvc_plots_show_holds_every_plot(tiny_run):
    repo, variants = tiny_run
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "DVC_NO_ANALYTICS": "1"}
    r = subprocess.run(["dvc", "plots", "show", "-o", "html"], cwd=repo, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "failed" not in (r.stdout + r.stderr).lower(), r.stdout + r.stderr
    html = (repo / "html/index.html").read_text()
    divs = set(re.findall(r'<div id\s*=\s*"([^"]+)"', html))
    assert "added_later" in variants
    expected = {f"metrics_confusion_{v}_csv" for v in variants} | {f"metrics_reject_{v}_csv" for v in variants}
    expected |= {
        f"metrics_curves_{v}_plots_metrics_mean_{s}_{q}_tsv" for v in variants for s in ("train", "val", "test") for q in ("loss", "error")
    }
    assert expected <= divs, f"missing from the page: {sorted(expected - divs)}"
    for v in variants:
        assert f'src="static/workspace_metrics_misread_{v}.png"' in html
        assert (repo / f"html/static/workspace_metrics_misread_{v}.png").is_file()


def test_readme_figures_tool(tiny_run, tmp_path, monkeypatch):
    import importlib.util

    spec = importlib.util.spec_from_file_location("readme_figures", ROOT / "tools/readme_figures.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    repo, variants = tiny_run
    monkeypatch.chdir(repo)
    paired = repo / "metrics/paired.json"
    with pytest.raises(SystemExit):  # the forest plot needs the report stage's paired differences
        tool.main(["--metrics", "metrics", "--out", str(tmp_path / "none")])
    paired.write_text("{}")  # what the report writes for one variant: no pairs
    for out in ("a", "b"):
        tool.main(["--metrics", "metrics", "--out", str(tmp_path / out)])
    paired.unlink()
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    expected = ["confusion.png", "forest.png", "learning_curves.png", "reject_curves.png", *(f"misread_{v}.png" for v in variants)]
    assert names == sorted(expected)
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
