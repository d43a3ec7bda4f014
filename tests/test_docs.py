"""Every page (README.md and docs/*.md) passes every check of a page, each one list of problems:
its links resolve (test_docs_links.py), its command blocks are marked runnable or not run (a not-run
block says why, a runnable one has no placeholder; test_readme_commands.py runs the runnable ones),
a page with runnable blocks says to activate the venv first, its numbers are accounted for
(test_doc_numbers.py), no result is typed outside a generated block (test_generated_numbers.py), and
its output quoted from a committed file is lines of that file. Every generated file is what its
command writes from the committed metrics; and the facts of docs/reproducing.md that other files hold."""

import functools
import re
import shlex
from pathlib import Path

import pytest
import yaml
from pages import NOT_RUN_MARK, PAGES, PLACEHOLDER, QUOTED, RUNNABLE_MARK, code_blocks, commands, page_name, runnable
from pipeline import ROOT
from test_doc_numbers import unaccounted
from test_docs_links import broken
from test_generated_numbers import SETTINGS, result_figures, typed_results

from lecun1989.pipeline import errors
from lecun1989.reporting import independent_runs, results_table

NOT_RUN_REASON = "not run by the tests"  # the visible words, in the paragraph above a not-run block
COMMAND = re.compile(r"^(\$ |make |dvc |python |git |source |\.venv/|\.uv/|[A-Z_]+=\S* |for |while )")


def unmarked_commands(page: Path) -> list[str]:
    text, problems = page.read_text(), []
    markers = [line for line in text.splitlines() if line.strip() in (RUNNABLE_MARK, NOT_RUN_MARK)]
    blocks = code_blocks(text)
    if len(markers) != sum(1 for marker, _, _ in blocks if marker):
        problems.append("every marker must stand right above an indented block")
    for marker, body, above in blocks:
        if marker is None:
            if any(COMMAND.match(line) for line in body):
                problems.append(f"a command block marked neither runnable nor not run: {body}")
        elif marker == "not run":
            if NOT_RUN_REASON not in above.lower():
                problems.append(f"say why above a not-run block ('{NOT_RUN_REASON}: ...'): {body}")
        else:
            problems += [f"a placeholder in a runnable block: {c}" for c in commands(body) if PLACEHOLDER.search(c)]
    return problems + (["my-exp: an example name in a command"] if "my-exp" in text else [])


def unsaid_venv(page: Path) -> list[str]:
    text = page.read_text()
    return ["source .venv/bin/activate"] if runnable(text) and "source .venv/bin/activate" not in text else []


def typed_in_results(page: Path) -> list[str]:
    if page.name == "anchors.md":  # the published figures, which the table shows beside ours
        return []
    return typed_results(page.read_text(), result_figures() - SETTINGS.get(page.name, set()))


def unquoted_lines(page: Path) -> list[str]:
    """A measurement copied into a page between `<!-- quoted from FILE -->` and `<!-- end quoted -->`
    must be lines of that committed file, so the page cannot drift from what the tool printed."""
    problems = []
    for m in QUOTED.finditer(page.read_text()):
        lines = {line.strip() for line in (ROOT / m.group(1)).read_text().splitlines()}
        problems += [f"not a line of {m.group(1)}: {line}" for line in m.group(2).splitlines() if line.strip() not in lines | {""}]
    return problems


CHECKS = {  # name: (the page's problems, what to do about them)
    "links": (broken, "links that do not resolve"),
    "command blocks": (unmarked_commands, "mark a command block runnable (no placeholder) or not run (the reason above it)"),
    "venv": (unsaid_venv, "it has runnable blocks: say that its commands run after source .venv/bin/activate"),
    "numbers": (
        lambda page: unaccounted(page_name(page)),
        "numbers that no generated block, committed file of SOURCES or listed exception accounts for; "
        "generate them, quote the file that holds them, or add an exception with its reason",
    ),
    "typed results": (typed_in_results, "results typed by hand (say it in the generated reading, or point to it)"),
    "quoted output": (unquoted_lines, "quoted output that is not the committed file's"),
}


@pytest.mark.parametrize("check", CHECKS)
@pytest.mark.parametrize("page", PAGES, ids=page_name)
def test_every_page_passes_every_check(page, check):
    problems, advice = CHECKS[check][0](page), CHECKS[check][1]
    assert not problems, f"{page_name(page)}, {check}: {advice}: {problems}"


# --- generated files -------------------------------------------------------------------------------


@functools.cache
def report_outputs() -> dict[str, str]:
    return {path.as_posix(): text for path, text in results_table.outputs(ROOT).items()}


def independent_runs_page(tmp_path: Path) -> str:
    """What docs/statistics.md's report command writes from the committed metrics folders."""
    doc = (ROOT / "docs/statistics.md").read_text()
    command = re.search(r"^    python -m lecun1989\.reporting\.independent_runs (.*)$", doc, re.M).group(1)
    independent_runs.main([*shlex.split(command), "--out", str(tmp_path / "page.md")])
    return (tmp_path / "page.md").read_text()


REPORT_FILES = [p.as_posix() for p in (results_table.README, results_table.STATISTICS, results_table.PAIRED, results_table.TABLE)]


@pytest.mark.parametrize("path", [*REPORT_FILES, "docs/independent-runs.md"])
def test_every_generated_file_is_what_its_command_writes_from_the_committed_metrics(path, tmp_path, monkeypatch):
    """The report's files (its blocks of README.md and docs/statistics.md, metrics/paired.json and
    metrics/results.md: `results_table --check`'s comparison) and docs/independent-runs.md, written by
    the command docs/statistics.md gives, never typed."""
    monkeypatch.chdir(ROOT)  # the commands name the folders from the repository's root
    written = independent_runs_page(tmp_path) if path == "docs/independent-runs.md" else report_outputs()[path]
    assert (ROOT / path).read_text() == written, f"stale: {path}: run `dvc repro report` (or make results) and commit it"


# --- facts of docs/reproducing.md that other files hold -----------------------------------------------

REPRODUCING = (ROOT / "docs/reproducing.md").read_text()


def test_quick_tolerances_match_tolerances_yaml():
    rules = {r["metric"]: r for r in yaml.safe_load((ROOT / "verify/tolerances.yaml").read_text())["quick"]}
    section = " ".join(REPRODUCING[REPRODUCING.index("`make verify-quick` does the same") :][:700].split())
    assert "1e-6" not in section
    assert f"±{rules['*.error_pct*']['abs']:g} point of error" in section, section
    assert f"±{rules['val.error_pct*']['abs']:g} on the 100 validation" in section, section
    assert f"±{rules['*.reject_for_1pct_error.*']['abs']:g}" in section and f"{rules['*.loss.*']['rel']:.0%} of the loss" in section


def test_refusals_section_names_every_refusal_kind():
    section = REPRODUCING[REPRODUCING.index("## What the pipeline refuses") :]
    kinds = [cls for cls in vars(errors).values() if isinstance(cls, type) and issubclass(cls, errors.PipelineError)]
    for cls in kinds:
        if cls is not errors.PipelineError:
            assert f"`{cls.label}:`" in section, f"{cls.__name__} ({cls.label}) is not in docs/reproducing.md's refusals"
            if cls.exit_code != 1:
                assert f"`{cls.label}:` (exit {cls.exit_code})" in section
