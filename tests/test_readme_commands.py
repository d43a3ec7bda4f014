"""Every command the README shows a user to type works as written (issue 11, items 1-5, 8): the
blocks marked `<!-- runnable -->` run in README order, from a fresh shell (the venv not on PATH),
in a tiny copy of the pipeline whose outputs are committed, as in a clone of main. A block of `$ `
lines is a transcript: its `$ ` lines are the commands, the rest their output."""

import json
import os
import re
import shlex
import sys
import time
from pathlib import Path

import pipeline
import pytest
import yaml
from pipeline import ROOT

from lecun1989.pipeline import errors

README = (ROOT / "README.md").read_text()
MARK = "<!-- runnable -->"
PLACEHOLDER = re.compile(r"<[a-z][a-z-]*>")
VARIANTS = ("lecun1989", "change2_adamw", "change4_relu_dropout")  # every variant the blocks name


def code_blocks(text: str) -> list[tuple[bool, list[str]]]:
    """(marked runnable, lines) of every indented code block, in order."""
    blocks, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        if lines[i].startswith("    ") and (i == 0 or not lines[i - 1].strip() or lines[i - 1].strip() == MARK):
            marked = i > 0 and lines[i - 1].strip() == MARK
            body = []
            while i < len(lines) and (
                lines[i].startswith("    ") or (not lines[i].strip() and i + 1 < len(lines) and lines[i + 1].startswith("    "))
            ):
                body.append(lines[i][4:])
                i += 1
            blocks.append((marked, body))
        i += 1
    return blocks


def commands(block: list[str]) -> list[str]:
    """The shell commands of a block: all of its lines, or only the `$ ` ones of a transcript."""
    transcript = any(line.startswith("$ ") for line in block)
    found, continued = [], False
    for line in block:
        if continued:
            found[-1] += "\n" + line
        elif not transcript or line.startswith("$ "):
            found.append(line.removeprefix("$ "))
        else:
            continue
        continued = line.rstrip().endswith("\\")
    return [c for c in found if c.strip()]


RUNNABLE = [commands(body) for marked, body in code_blocks(README) if marked]


def test_readme_marks_its_user_commands_runnable_and_placeholders_visible():
    markers = [line for line in README.splitlines() if line.strip() == MARK]
    assert len(markers) == len(RUNNABLE) >= 5, "every marker must stand right above an indented block"
    first = RUNNABLE[0]
    assert first[0].startswith("make repro") and first[1].startswith("source .venv/bin/activate"), first
    for block in RUNNABLE:
        for command in block:
            assert not PLACEHOLDER.search(command), f"a placeholder in a runnable block: {command}"
    for marked, body in code_blocks(README):  # the unmarked blocks that look like dvc commands use <placeholders>
        if not marked and any(line.startswith("dvc plots diff") for line in body):
            assert all(PLACEHOLDER.search(line) for line in body if line.startswith("dvc plots diff")), body
    assert "my-exp" not in README


def test_readme_quick_tolerances_match_tolerances_yaml():
    rules = {r["metric"]: r for r in yaml.safe_load((ROOT / "verify/tolerances.yaml").read_text())["quick"]}
    section = README[README.index("`make verify-quick` does the same") :][:700]
    assert "1e-6" not in section
    assert f"±{rules['*.error_pct*']['abs']:g} point of error" in section, section
    assert f"±{rules['*.reject_for_1pct_error.*']['abs']:g}" in section and f"{rules['*.loss.*']['rel']:.0%} of the loss" in section


def test_trust_section_names_every_refusal_kind():
    section = README[README.index("What the pipeline refuses") : README.index("## Performance")]
    kinds = [cls for cls in vars(errors).values() if isinstance(cls, type) and issubclass(cls, errors.PipelineError)]
    for cls in kinds:
        if cls is not errors.PipelineError:
            assert f"`{cls.label}:`" in section, f"{cls.__name__} ({cls.label}) is not in the README's trust list"
            if cls.exit_code != 1:
                assert f"`{cls.label}:` (exit {cls.exit_code})" in section


def fresh_shell_env(home: Path) -> dict:
    """A new login's environment: no virtual environment on PATH, no analytics."""
    venv_bin = str(Path(sys.executable).parent)
    path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if p != venv_bin)
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    return {**env, "PATH": path, "DVC_NO_ANALYTICS": "1"}


def wait_for_queue(repo, env, timeout_s=1500) -> str:
    deadline = time.monotonic() + timeout_s
    while True:
        status = pipeline.subprocess.run(
            ["bash", "-c", "source .venv/bin/activate && dvc queue status"], cwd=repo, env=env, capture_output=True, text=True
        ).stdout
        if not re.search(r"\b(Running|Queued)\b", status) or time.monotonic() > deadline:
            return status
        time.sleep(5)


@pytest.fixture
def clone_of_main(tmp_path):
    """The tiny pipeline reproduced and committed (dvc.lock, metrics), with this checkout's .venv."""
    repo = pipeline.make_tiny_repo(tmp_path / "repo", pipeline.tiny_params(VARIANTS))
    pipeline.git_config(repo)
    pipeline.run(["dvc", "repro"], repo)
    pipeline.run(["git", "add", "-A"], repo)
    pipeline.run(["git", "commit", "-q", "-m", "reproduced"], repo)
    for name in (".venv", ".uv"):
        (repo / name).symlink_to(ROOT / name)
    return repo


def test_readme_command_blocks_run_as_written(clone_of_main):
    repo, env = clone_of_main, fresh_shell_env(clone_of_main)
    assert pipeline.subprocess.run(["bash", "-c", "command -v dvc"], env=env, capture_output=True).returncode != 0, "dvc on PATH already"
    script = ["set -eo pipefail"]
    for n, block in enumerate(RUNNABLE):
        for command in block:
            script += [f"echo {shlex.quote(f'>>> block {n}: ' + command.splitlines()[0])}", command]
    result = pipeline.subprocess.run(["bash", "-c", "\n".join(script)], cwd=repo, env=env, capture_output=True, text=True, timeout=2400)
    status = wait_for_queue(repo, env)
    tail = (result.stdout + "\n" + result.stderr)[-6000:]
    assert result.returncode == 0, tail
    assert not re.search(r"\b(Failed|Running|Queued)\b", status), status

    # each experiment changed its own param only, not the one of the experiment before it too
    shown = pipeline.subprocess.run(
        ["bash", "-c", "source .venv/bin/activate && dvc exp show --json"], cwd=repo, env=env, capture_output=True, text=True, check=True
    ).stdout
    params = experiment_params(json.loads(shown))
    assert {"drop10", "lecun-lr1e-2", "adamw-lr1e-3"} <= set(params), sorted(params)
    committed = yaml.safe_load((repo / "params.yaml").read_text())["variants"]  # after `dvc exp apply drop10`
    assert params["lecun-lr1e-2"]["lecun1989"]["lr"] == 0.01
    assert params["lecun-lr1e-2"]["change4_relu_dropout"]["dropout"] == 0.25  # not drop10's 0.1
    assert committed["change4_relu_dropout"]["dropout"] == 0.1


def experiment_params(shown: list) -> dict[str, dict]:
    """{experiment name: variants params} from `dvc exp show --json`."""
    found = {}
    for row in shown:
        for exp in row.get("experiments") or []:
            for rev in exp["revs"]:
                if rev.get("name") and rev.get("data"):
                    found[rev["name"]] = rev["data"]["params"]["params.yaml"]["data"]["variants"]
    return found
