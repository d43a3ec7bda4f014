"""The reproduction check's comparison (lecun1989/reporting/compare.py) and its refusals (lecun1989/reporting/verify.py); the
full check itself, `make verify-quick`, runs in .ci/run after the tests."""

import json

import pytest
import yaml
from pipeline import ROOT

from lecun1989.reporting import compare, verify


def split_metrics(n: int, error: float, loss: float) -> dict:
    return {
        "n": n,
        "error_pct": {"mean": error, "std": 0.29, "min": error - 0.42, "max": error + 0.42},
        "error_pct_by_draw": {"draw_42": error - 0.2, "draw_43": error, "draw_44": error + 0.2},
        "loss": {"mean": loss, "std": loss / 10, "min": loss * 0.9, "max": loss * 1.1},
    }


METRICS = {
    "n_runs": 9,
    "n_draws": 3,
    "n_seeds": 3,
    "test": split_metrics(2007, 3.96, 0.05),
    "val": split_metrics(1000, 3.5, 0.04),
    "train": split_metrics(7291, 0.8, 0.01),
}


def full_rules():
    return compare.load_tolerances(ROOT / verify.TOLERANCES, "full")


def with_value(metrics: dict, path: str, value) -> dict:
    copy = yaml.safe_load(yaml.safe_dump(metrics))
    *parents, key = path.split(".")
    node = copy
    for part in parents:
        node = node[part]
    node[key] = value
    return copy


def test_every_published_metric_has_a_tolerance_with_a_reason():
    for section in ("full", "quick"):
        rules = compare.load_tolerances(ROOT / verify.TOLERANCES, section)
        assert all(rule.why for rule in rules)
        rows = compare.compare({"v": METRICS}, {"v": METRICS}, rules)
        assert len(rows) == 3 + 3 * 12 and all(row.verdict == "ok" for row in rows), compare.table(rows)


@pytest.mark.parametrize(
    "path, value, ok",
    [
        ("test.error_pct.mean", 3.96 + 0.49, True),
        ("test.error_pct.mean", 3.96 - 0.51, False),
        ("test.error_pct.max", 4.38 + 1.2, False),
        ("test.n", 2006, False),
        ("n_seeds", 4, False),
        ("train.loss.mean", 0.0114, True),
        ("train.loss.mean", 0.012, False),
        ("test.error_pct.mean", float("nan"), False),
    ],
)
def test_tolerances_decide_the_verdict(path, value, ok):
    rows = compare.compare({"v": METRICS}, {"v": with_value(METRICS, path, value)}, full_rules())
    row = next(r for r in rows if r.metric == path)
    assert row.ok is ok, compare.table(rows)
    assert sum(not r.ok for r in rows) == (0 if ok else 1)


def test_missing_or_extra_variant_and_undeclared_metric_fail():
    rows = compare.compare({"a": METRICS, "b": METRICS}, {"a": {**METRICS, "new": 1.0}, "c": METRICS}, full_rules())
    verdicts = {(r.variant, r.metric): r.verdict for r in rows}
    assert verdicts[("a", "new")] == "FAIL: not expected"
    assert verdicts[("b", "test.error_pct.mean")] == "FAIL: missing"
    assert verdicts[("c", "test.error_pct.mean")] == "FAIL: not expected"
    rows = compare.compare({"a": {"x": 1.0}}, {"a": {"x": 1.0}}, full_rules())
    assert rows[0].verdict == "FAIL: no tolerance declared"


def test_table_shows_expected_got_and_verdict():
    rows = compare.compare({"v": METRICS}, {"v": with_value(METRICS, "test.error_pct.mean", 5.0)}, full_rules())
    text = compare.table(rows)
    assert text.splitlines()[0].split() == ["variant", "metric", "expected", "got", "diff", "tolerance", "verdict"]
    assert any(line.split()[:4] == ["v", "test.error_pct.mean", "3.96", "5"] and line.endswith("FAIL") for line in text.splitlines())


# SGD/MSE/tanh and AdamW/shift/ReLU/dropout/softmax (SDLM is left out: 2 epochs of it do not learn)
QUICK_VARIANTS = {"lecun1989", "change4_relu_dropout"}


def test_quick_patch_gives_valid_params(tmp_path):
    from lecun1989.pipeline.schema import load_params

    patched = verify.merge_patch(
        yaml.safe_load((ROOT / "params.yaml").read_text()), yaml.safe_load((ROOT / verify.QUICK_PARAMS).read_text())
    )
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(patched))
    params = load_params(tmp_path / "params.yaml")
    assert set(params.variants) == QUICK_VARIANTS
    assert params.datasets["zip1989"].n_train == 300 and params.variants["lecun1989"].lr == 0.03
    assert set(params.datasets) == {"zip1989"} and params.datasets["zip1989"].draws == [42, 43]


def test_quick_expected_metrics_are_committed_for_every_quick_variant():
    expected = verify.read_metrics(ROOT / verify.EXPECTED["quick"])
    assert set(expected) == QUICK_VARIANTS | {"paired"}  # and the report's paired differences


def git_repo(path, files: dict):
    for rel, text in files.items():
        (path / rel).parent.mkdir(parents=True, exist_ok=True)
        (path / rel).write_text(text)
    for cmd in (["git", "init", "-q"], ["git", "add", "-A"], ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x"]):
        verify.subprocess.run(cmd, cwd=path, check=True)
    return path


def test_verify_without_committed_metrics_is_refused_clearly(tmp_path, monkeypatch, capsys):
    """metrics/ is not committed until the first full run: verify says so before running anything."""
    monkeypatch.setattr(verify, "ROOT", git_repo(tmp_path, {"params.yaml": "{}"}))
    monkeypatch.setattr(verify, "repro", lambda clone: pytest.fail("ran the pipeline"))
    assert verify.main([]) == 2
    assert "metrics/ holds no committed metrics" in capsys.readouterr().err


@pytest.mark.parametrize("test_error, code", [(3.96 + 0.99, 0), (3.96 + 1.01, 1)])  # quick: +-1 point
def test_verify_quick_compares_a_fresh_run_of_the_patched_clone(tmp_path, monkeypatch, capsys, test_error, code):
    """The pipeline itself is replaced by a stub that checks the quick patch was applied."""
    repo = git_repo(
        tmp_path,
        {
            "params.yaml": "prepare: {n_train: 7291}\n",
            verify.QUICK_PARAMS: "prepare: {n_train: 300}\n",
            verify.TOLERANCES: (ROOT / verify.TOLERANCES).read_text(),
            f"{verify.EXPECTED['quick']}/v.json": json.dumps(METRICS),
        },
    )

    def fake_repro(clone):
        assert yaml.safe_load((clone / "params.yaml").read_text()) == {"prepare": {"n_train": 300}}
        (clone / "metrics").mkdir()
        (clone / "metrics/v.json").write_text(json.dumps(with_value(METRICS, "test.error_pct.mean", test_error)))

    monkeypatch.setattr(verify, "ROOT", repo)
    monkeypatch.setattr(verify, "repro", fake_repro)
    assert verify.main(["--quick"]) == code
    out = capsys.readouterr().out
    assert "verify: comparing under verify/tolerances.yaml: v in the expected metrics records no engine" in out
    assert "compared under verify/tolerances.yaml" in out
    assert ("FAILED, 1 of 39 metrics" if code else "all 39 metrics match") in out
    assert verify.main(["--quick", "--exact"]) == 1  # CI's cross-compiler check asks for exact
    assert (
        "verify: FAILED: --exact, and the comparison was not exact (v in the expected metrics records no engine)" in capsys.readouterr().out
    )


RECORD = "native engine (sources 0123456789abcdef, target -march=x86-64-v3, flags -O3 -ffp-contract=off, denormals flushed to zero)"
NATIVE = {"train": RECORD, "evaluate": RECORD}
LOCK = "stages:\n  evaluate@v:\n    outs:\n    - path: metrics/v.json\n      md5: {md5}\n"


def test_engine_record_names_the_contract_of_this_build():
    """What the train and evaluate stages record reads back as build.contract(), and names no compiler."""
    from lecun1989.training.native import build

    record = compare.parse_record(f"native engine ({build.description()})")
    assert record.engine == "native" and dict(record.contract) == build.contract()
    assert tuple(build.contract()) == compare.CONTRACT and build.compiler_banner() not in build.description()


@pytest.mark.parametrize(
    "got, exact, why",
    [
        (NATIVE, True, "both sides ran the native engine under one arithmetic contract (sources 0123456789abcdef, target"),
        ({"train": RECORD.replace("x86-64-v3", "armv8-a"), "evaluate": RECORD}, False, "the records name 2 arithmetic contracts"),
        (
            {k: RECORD.replace("0123456789abcdef", "fedcba9876543210") for k in NATIVE},
            False,
            "contracts differ: sources 0123456789abcdef expected, fedcba9876543210 here",
        ),
        (
            {k: RECORD.replace("-O3 ", "") for k in NATIVE},
            False,
            "contracts differ: flags -O3 -ffp-contract=off expected, -ffp-contract=off here",
        ),
        ({"train": "xla engine (XLA (jax 0.10.0) on cpu)", "evaluate": RECORD}, False, "v train in this run ran on the xla engine"),
        (
            {"train": "native engine (g++ 12 -O3)", "evaluate": RECORD},
            False,
            "v train in this run records a native build but not its arithmetic",
        ),
    ],
)
def test_exact_whenever_both_sides_ran_one_contract_whatever_compiled_it(got, exact, why):
    """One contract on both sides is exact; another value of any contract field, another engine or a
    record without its contract means the tolerances, and the reason names it."""
    verdict, reason = compare.comparison({"v": {**METRICS, "engine": NATIVE}}, {"v": {**METRICS, "engine": got}})
    assert verdict == exact and why in reason, reason


@pytest.mark.parametrize("nudge, md5, code", [(0.0, "aa", 0), (1e-9, "aa", 1), (0.0, "bb", 1)])
def test_verify_quick_is_exact_when_one_contract_made_both(tmp_path, monkeypatch, capsys, nudge, md5, code):
    """Both sides trained and evaluated under one arithmetic contract: every number must be equal (a
    difference far inside the tolerances fails) and every output's digest in dvc.lock too."""
    metrics = {**METRICS, "engine": NATIVE}
    repo = git_repo(
        tmp_path,
        {
            "params.yaml": "{}\n",
            verify.QUICK_PARAMS: "{}\n",
            verify.TOLERANCES: (ROOT / verify.TOLERANCES).read_text(),
            f"{verify.EXPECTED['quick']}/v.json": json.dumps(metrics),
            f"{verify.EXPECTED['quick']}/dvc.lock": LOCK.format(md5="aa"),
        },
    )

    def fake_repro(clone):
        (clone / "metrics").mkdir()
        (clone / "metrics/v.json").write_text(json.dumps(with_value(metrics, "test.error_pct.mean", 3.96 + nudge)))
        (clone / "dvc.lock").write_text(LOCK.format(md5=md5))

    monkeypatch.setattr(verify, "ROOT", repo)
    monkeypatch.setattr(verify, "repro", fake_repro)
    assert verify.main(["--quick"]) == code
    out = capsys.readouterr().out
    assert "verify: comparing exactly: both sides ran the native engine under one arithmetic contract" in out
    assert "compared exactly (one arithmetic contract made both)" in out
    assert ("output digests against verify/quick-expected/dvc.lock: all equal" in out) == (md5 == "aa")


def test_every_paired_statistic_has_a_tolerance():
    """metrics/paired.json's entries (interval, sign test, McNemar included) are published numbers too."""
    import json

    paired = json.loads((ROOT / "metrics/paired.json").read_text())
    entry = {**next(iter(paired.values())), "mcnemar": {"only_variant_wrong": 40, "only_baseline_wrong": 30, "p": 0.3}}
    for section in ("full", "quick"):
        rows = compare.compare(
            {"paired": {"a-b": entry}}, {"paired": {"a-b": entry}}, compare.load_tolerances(ROOT / verify.TOLERANCES, section)
        )
        assert all(row.verdict == "ok" for row in rows), compare.table(rows)
