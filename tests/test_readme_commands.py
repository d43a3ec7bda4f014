"""Every command the README and docs/ show a user to type works as written: the blocks marked
`<!-- runnable -->` run in order, from a fresh shell (the venv not on PATH), in a tiny copy of the
pipeline whose outputs are committed, as in a clone of main; those marked `<!-- not run -->` say why
in the text above them. A block of `$ ` lines is a transcript: its `$ ` lines are the commands, the
rest their output. Also: the README's length limits, and the docs' facts that other files hold."""

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

pytestmark = pytest.mark.pipeline  # runs stages, DVC or make as processes

README = (ROOT / "README.md").read_text()
DOCS = {p: p.read_text() for p in sorted((ROOT / "docs").glob("*.md"))}
RUNNABLE_MARK, NOT_RUN_MARK = "<!-- runnable -->", "<!-- not run -->"
NOT_RUN_REASON = "not run by the tests"  # the visible words, in the paragraph above a not-run block
PLACEHOLDER = re.compile(r"<[a-z][a-z-]*>")
COMMAND = re.compile(r"^(\$ |make |dvc |python |git |source |\.venv/|\.uv/|[A-Z_]+=\S* |for |while )")
QUOTED = re.compile(r"<!-- quoted from (\S+) -->\n(.*?)<!-- end quoted -->", re.S)
VARIANTS = ("lecun1989", "change2_adamw", "change4_relu_dropout")  # every variant the blocks name
MAX_LINES, MAX_CHARS = 160, 11_000  # the README is a front door; docs/ holds the reference


def code_blocks(text: str) -> list[tuple[str | None, list[str], str]]:
    """(marker: "runnable", "not run" or None, lines, the paragraph above) of every indented code block, in order."""
    blocks, lines, i = [], text.splitlines(), 0
    marks = {RUNNABLE_MARK: "runnable", NOT_RUN_MARK: "not run"}
    while i < len(lines):
        if lines[i].startswith("    ") and (i == 0 or not lines[i - 1].strip() or lines[i - 1].strip() in marks):
            marker = marks.get(lines[i - 1].strip()) if i > 0 else None
            j = i - 1 if marker else i
            while j > 0 and not lines[j - 1].strip():
                j -= 1
            above = []
            while j > 0 and lines[j - 1].strip():
                above.insert(0, lines[j - 1])
                j -= 1
            body = []
            while i < len(lines) and (
                lines[i].startswith("    ") or (not lines[i].strip() and i + 1 < len(lines) and lines[i + 1].startswith("    "))
            ):
                body.append(lines[i][4:])
                i += 1
            blocks.append((marker, body, " ".join(above)))
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


def runnable(text: str) -> list[list[str]]:
    return [commands(body) for marker, body, _ in code_blocks(text) if marker == "runnable"]


RUNNABLE = runnable(README)
PAGES = {p: runnable(text) for p, text in DOCS.items() if runnable(text)}  # the docs pages with runnable blocks
ALL = {ROOT / "README.md": README, **DOCS}


@pytest.mark.parametrize("path", list(ALL), ids=lambda p: p.name)
def test_every_command_block_is_marked_and_placeholders_visible(path):
    text = ALL[path]
    markers = [line for line in text.splitlines() if line.strip() in (RUNNABLE_MARK, NOT_RUN_MARK)]
    blocks = code_blocks(text)
    assert len(markers) == sum(1 for marker, _, _ in blocks if marker), "every marker must stand right above an indented block"
    for marker, body, above in blocks:
        if marker is None:
            assert not any(COMMAND.match(line) for line in body), f"a command block marked neither runnable nor not run: {body}"
        elif marker == "not run":
            assert NOT_RUN_REASON in above.lower(), f"say why above a not-run block ('{NOT_RUN_REASON}: ...'): {body}"
        else:
            for command in commands(body):
                assert not PLACEHOLDER.search(command), f"a placeholder in a runnable block: {command}"
    assert "my-exp" not in text


def test_readme_within_its_length_limits_and_its_first_blocks_are_the_quick_start():
    assert len(README.splitlines()) <= MAX_LINES, (
        f"README.md has {len(README.splitlines())} lines, over {MAX_LINES}: move reference to docs/"
    )
    assert len(README) <= MAX_CHARS, f"README.md has {len(README)} characters, over {MAX_CHARS}: move reference to docs/"
    first = [c for marker, body, _ in code_blocks(README)[:3] if marker for c in commands(body)]
    assert first[0].startswith("make repro") and any(c.startswith("make test") for c in first), first
    assert any(c.startswith(".venv/bin/dvc metrics show") for c in first), first
    assert [c for block in RUNNABLE for c in block if c.startswith("source .venv/bin/activate")], "the README activates the venv"


def test_docs_pages_with_commands_say_how_to_run_them():
    for path in PAGES:
        assert "source .venv/bin/activate" in DOCS[path], f"{path.name}: say that its commands run after source .venv/bin/activate"


@pytest.mark.parametrize(
    "path, source", [(p, m.group(1)) for p, text in ALL.items() for m in QUOTED.finditer(text)], ids=lambda x: getattr(x, "name", x)
)
def test_quoted_output_is_a_copy_of_its_file(path, source):
    """A measurement copied into a page between `<!-- quoted from FILE -->` and `<!-- end quoted -->`
    must be lines of that committed file, so the page cannot drift from what the tool printed."""
    lines = {line.strip() for line in (ROOT / source).read_text().splitlines()}
    for m in QUOTED.finditer(ALL[path]):
        if m.group(1) == source:
            for line in m.group(2).splitlines():
                assert not line.strip() or line.strip() in lines, f"{path.name}: not a line of {source}: {line}"


def test_quick_tolerances_match_tolerances_yaml():
    rules = {r["metric"]: r for r in yaml.safe_load((ROOT / "verify/tolerances.yaml").read_text())["quick"]}
    doc = DOCS[ROOT / "docs/reproducing.md"]
    section = " ".join(doc[doc.index("`make verify-quick` does the same") :][:700].split())
    assert "1e-6" not in section
    assert f"±{rules['*.error_pct*']['abs']:g} point of error" in section, section
    assert f"±{rules['val.error_pct*']['abs']:g} on the 100 validation" in section, section
    assert f"±{rules['*.reject_for_1pct_error.*']['abs']:g}" in section and f"{rules['*.loss.*']['rel']:.0%} of the loss" in section


def test_refusals_section_names_every_refusal_kind():
    doc = DOCS[ROOT / "docs/reproducing.md"]
    section = doc[doc.index("## What the pipeline refuses") :]
    kinds = [cls for cls in vars(errors).values() if isinstance(cls, type) and issubclass(cls, errors.PipelineError)]
    for cls in kinds:
        if cls is not errors.PipelineError:
            assert f"`{cls.label}:`" in section, f"{cls.__name__} ({cls.label}) is not in docs/reproducing.md's refusals"
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
