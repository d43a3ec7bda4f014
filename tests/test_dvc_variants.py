"""Per-variant stages through DVC on the tiny repository: editing one variant's params touches that
variant's stages only, `dvc repro train@<variant>` targets one stage, and an experiment that
overrides one variant's learning rate changes that variant's metrics and nothing else."""

import json

import pipeline
import yaml


def test_the_tiny_repository_has_the_two_variants_these_tests_edit():
    assert set(pipeline.TINY_VARIANTS) == {"lecun1989", "change4_relu_dropout"}


def stages_run(stdout: str) -> set[str]:
    return {line.split("'")[1] for line in stdout.splitlines() if line.startswith("Running stage '")}


def stale_stages(repo) -> set[str]:
    return set(json.loads(pipeline.run(["dvc", "status", "--json"], repo).stdout))


def outputs(repo, name) -> dict[str, bytes]:
    paths = [f"models/{name}.msgpack", f"metrics/{name}.json", f"metrics/per_run/{name}.json"]
    files = {p: (repo / p).read_bytes() for p in paths}
    files[f"metrics/curves/{name}"] = pipeline.tree_bytes(repo / f"metrics/curves/{name}")
    return files


def set_lr(repo, name, lr):
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["variants"][name]["lr"] = lr
    pipeline.write_params(repo, params)


def test_editing_one_variant_stales_only_its_stages_and_repro_can_target_one_stage(tiny_repo):
    EDITED, OTHER = "lecun1989", "change4_relu_dropout"
    assert stale_stages(tiny_repo) == set()
    before = {name: outputs(tiny_repo, name) for name in (EDITED, OTHER)}
    set_lr(tiny_repo, EDITED, 0.05)
    # the whole-file check reruns first; its stamp's bytes do not change, so only the edited variant's
    # stages and the report (it reads every variant) follow
    assert stale_stages(tiny_repo) == {"check_params", f"train@{EDITED}", f"evaluate@{EDITED}", "report"}

    out = pipeline.run(["dvc", "repro", f"train@{EDITED}"], tiny_repo).stdout
    assert stages_run(out) == {"check_params", f"train@{EDITED}"}, out
    assert stale_stages(tiny_repo) == {f"evaluate@{EDITED}", "report"}
    after = {name: outputs(tiny_repo, name) for name in (EDITED, OTHER)}
    assert after[OTHER] == before[OTHER]
    changed = {p for p in after[EDITED] if after[EDITED][p] != before[EDITED][p]}
    assert changed == {f"models/{EDITED}.msgpack", f"metrics/curves/{EDITED}"}  # evaluate has not run


def test_exp_run_with_one_override_changes_only_that_variants_metrics(tiny_repo):
    EDITED, OTHER = "change4_relu_dropout", "lecun1989"
    pipeline.run(["git", "add", "-A"], tiny_repo)
    pipeline.run(["git", "commit", "-q", "-m", "tiny pipeline, reproduced"], tiny_repo)
    before = {name: outputs(tiny_repo, name) for name in (EDITED, OTHER)}

    out = pipeline.run(["dvc", "exp", "run", "-n", "faster", "-S", f"variants.{EDITED}.lr=0.001"], tiny_repo).stdout
    assert stages_run(out) == {"check_params", f"train@{EDITED}", f"evaluate@{EDITED}", "report"}, out

    # the workspace: only the edited variant's outputs moved, and all of them
    after = {name: outputs(tiny_repo, name) for name in (EDITED, OTHER)}
    assert after[OTHER] == before[OTHER]
    assert all(after[EDITED][p] != before[EDITED][p] for p in before[EDITED])
    params = yaml.safe_load((tiny_repo / "params.yaml").read_text())
    assert (
        params["variants"][EDITED]["lr"] == 0.001
        and params["variants"][OTHER]
        == yaml.safe_load(pipeline.run(["git", "show", "HEAD:params.yaml"], tiny_repo).stdout)["variants"][OTHER]
    )

    # the experiment table: the baseline and the experiment differ in exactly one variant's metrics
    shown = json.loads(pipeline.run(["dvc", "exp", "show", "--json"], tiny_repo).stdout)
    baseline = next(row for row in shown if row.get("rev") not in (None, "workspace"))
    experiment = next(e for e in baseline["experiments"] for r in e["revs"] if r["name"] == "faster")["revs"][0]
    base_metrics = baseline["data"]["metrics"]
    exp_metrics = experiment["data"]["metrics"]
    assert set(base_metrics) == set(exp_metrics) == {f"metrics/{EDITED}.json", f"metrics/{OTHER}.json", "metrics/paired.json"}
    assert exp_metrics[f"metrics/{OTHER}.json"] == base_metrics[f"metrics/{OTHER}.json"]
    assert exp_metrics[f"metrics/{EDITED}.json"] != base_metrics[f"metrics/{EDITED}.json"]
