"""Every command the README and docs/ show a user to type works as written: the blocks marked
`<!-- runnable -->` run in order, from a fresh shell (the venv not on PATH), in a tiny copy of the
pipeline whose outputs are committed, as in a clone of main (test_docs.py checks that every command
block is marked, and that those marked `<!-- not run -->` say why). A block of `$ ` lines is a
transcript: its `$ ` lines are the commands, the rest their output."""

import json
import os
import re
import shlex
import sys
import time
from pathlib import Path

import pages
import pipeline
import pytest
import yaml
from pages import PLACEHOLDER as PLACEHOLDER  # re-exported: test_sweep_flow.py and test_plots_page.py import them from here
from pages import code_blocks as code_blocks
from pages import commands as commands
from pages import runnable
from pipeline import ROOT

pytestmark = pytest.mark.pipeline  # runs stages, DVC or make as processes

README = (ROOT / "README.md").read_text()
VARIANTS = ("lecun1989", "change2_adamw", "change4_relu_dropout")  # every variant the blocks name
RUNNABLE = runnable(README)
PAGES = {p: runnable(p.read_text()) for p in pages.PAGES[1:] if runnable(p.read_text())}  # the docs pages with runnable blocks


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


@pytest.fixture(scope="module")
def clone_of_main(tmp_path_factory):
    """The tiny pipeline reproduced and committed (dvc.lock, metrics), with this checkout's .venv.
    The docs pages' blocks (which train nothing) run in it before the README's."""
    repo = pipeline.make_tiny_repo(tmp_path_factory.mktemp("clone") / "repo", pipeline.tiny_params(VARIANTS))
    pipeline.git_config(repo)
    pipeline.run(["dvc", "repro"], repo)
    pipeline.run(["git", "add", "-A"], repo)
    pipeline.run(["git", "commit", "-q", "-m", "reproduced"], repo)
    for name in (".venv", ".uv"):
        (repo / name).symlink_to(ROOT / name)
    return repo


def run_blocks(repo: Path, blocks: list[list[str]], first: str = "") -> str:
    """Run the blocks' commands in order in one fresh shell (after `first`); the failure's output tail."""
    env = fresh_shell_env(repo)
    assert pipeline.subprocess.run(["bash", "-c", "command -v dvc"], env=env, capture_output=True).returncode != 0, "dvc on PATH already"
    script = ["set -eo pipefail", first]
    for n, block in enumerate(blocks):
        for command in block:
            script += [f"echo {shlex.quote(f'>>> block {n}: ' + command.splitlines()[0])}", command]
    result = pipeline.subprocess.run(["bash", "-c", "\n".join(script)], cwd=repo, env=env, capture_output=True, text=True, timeout=2400)
    return "" if result.returncode == 0 else (result.stdout + "\n" + result.stderr)[-6000:]


@pytest.mark.parametrize("page", list(PAGES), ids=lambda p: p.name)
def test_docs_command_blocks_run_as_written(clone_of_main, page):
    """Each page in a fresh shell, after the `source .venv/bin/activate` the page asks for."""
    failed = run_blocks(clone_of_main, PAGES[page], first="source .venv/bin/activate")
    assert not failed, f"{page.name}:\n{failed}"


def test_readme_command_blocks_run_as_written(clone_of_main):
    repo, env = clone_of_main, fresh_shell_env(clone_of_main)
    failed = run_blocks(repo, RUNNABLE)
    status = wait_for_queue(repo, env)
    assert not failed, failed
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
