"""Every number in README.md and docs/*.md comes from a generated block, or is checked against a
committed file, or is an exception listed below with its reason.

A number in a page's prose (generated blocks, indented code blocks and the lines quoted from a
committed file between "quoted from" comments left out: the report writes the first, tests run or
compare the others) passes when its value is a number of one of the committed files SOURCES names
for that page: params.yaml for a setting, the bench output for a speed, the code for a constant.
Otherwise it must be in EXCEPTIONS (page, number, reason), or in a whole page's exception, or in one
of the kinds of CATEGORIES (test_docs.py checks every page with `unaccounted`). A test also holds the experiment's transcript in docs/experiments.md to
its committed output and that output's HEAD column to the committed metrics, and the anchor columns
of the results table to docs/anchors.md."""

import json
import re

import pytest
from pages import PAGES, QUOTED, code_blocks, commands, page_name, prose
from pipeline import ROOT

from lecun1989.reporting import results_table

# The committed files whose numbers a page's numbers are checked against.
SOURCES = {
    "README.md": ["params.yaml", "pyproject.toml", "docs/performance.md"],
    "docs/anchors.md": [],
    "docs/engines.md": [
        "params.yaml",
        "lecun1989/training/native/layout.py",
        "tests/test_native.py",
        "tests/test_fastnet.py",
        "tests/test_vectorized.py",
        "tests/test_hessian_fixed.py",
        "tests/test_bits.py",
        "tools/bench.py",
    ],
    "docs/extending.md": ["params.yaml", "tests/test_native.py"],
    "docs/experiments.md": ["params.yaml", "docs/sweep-lecun1989_paper.md", "docs/experiment-adamw-lr1e-3.txt"],
    "docs/gpus.md": ["pyproject.toml", "uv.lock", "tools/bench.py", "tests/test_vectorized.py"],
    "docs/independent-runs.md": [],
    "docs/layout.md": [],
    "docs/method.md": [
        "params.yaml",
        "docs/anchors.md",
        "lecun1989/network/model.py",
        "lecun1989/network/hessian.py",
        "lecun1989/data/usps.py",
    ],
    "docs/performance.md": ["docs/bench-2026-12-01.txt", "docs/repro-2026-12-07.txt", "params.yaml"],
    "docs/pipeline.md": [
        "params.yaml",
        "lecun1989/data/preprocessing.py",
        "lecun1989/data/sources.py",
        "lecun1989/data/usps.py",
        "lecun1989/evaluation/outputs.py",
    ],
    "docs/plots.md": [],
    "docs/refusals.md": [
        "tests/test_refusals.py",
        "tests/test_faults.py",
        "lecun1989/pipeline/schema.py",
        "lecun1989/pipeline/readers.py",
        "lecun1989/pipeline/dvc_state.py",
        "uv.lock",
    ],
    "docs/reproducing.md": [
        "verify/tolerances.yaml",
        "verify/quick-params.yaml",
        "tests/test_bits.py",
        "tests/test_resize.py",
        "pyproject.toml",
        "lecun1989/training/native/build.py",
    ],
    "docs/results.md": ["params.yaml", "lecun1989/evaluation/scoring.py"],
    "docs/scaling.md": ["tests/test_distributed.py"],
    "docs/statistics.md": ["lecun1989/reporting/runs_needed.py", "params.yaml", "docs/independent-runs.md"],
    "docs/sweep-lecun1989_paper.md": [],
}

# Kinds of numbers that need no file: (test on the number as written, reason).
CATEGORIES = [
    (lambda n: n.isdigit() and int(n) <= 10, "a small count or ordinal of the text (2 vCPUs, 3 seeds, step 1), not a measurement"),
    (lambda n: n.isdigit() and 1980 <= int(n) <= 2030, "a year: a citation's, or the date a measurement names beside it"),
]

# Whole pages whose numbers are exceptions.
PAGE_EXCEPTIONS = {
    "docs/anchors.md": "the published figures, transcribed from the sources the page names (outside this repository); "
    "test_anchor_columns_are_figures_of_anchors_md holds the table's anchor columns to it",
    "docs/sweep-lecun1989_paper.md": "the output of `dvc exp show` as printed after the sweep, the record of that sweep; "
    "its experiments are not committed, so nothing else holds these numbers",
}

# Single numbers that are exceptions: {page: {number as written: reason}}.
EXCEPTIONS = {
    "README.md": {
        "33": 'karpathy\'s "33 years ago" (1989 to 2022), the title of the blog post docs/anchors.md cites',
    },
    "docs/engines.md": {
        "2,400": "H2's connected weights: 12 maps × 8 input maps × 25 (the network of docs/method.md)",
        "3,600": "H2's weights with the unconnected ones: 12 maps × 12 input maps × 25",
    },
    "docs/experiments.md": {
        "47": "a draw in an example command (more runs per row), not a result",
        "48": "a draw in an example command (more runs per row), not a result",
    },
    "docs/performance.md": {
        "2.6": "the clock of the bench machine, 2600 MHz in docs/bench-2026-12-01.txt",
        "24": "the bench machine's memory, 24 GiB (the machine facts beside docs/bench-2026-12-01.txt)",
        "13": "808.6 s in minutes and seconds (docs/repro-2026-12-07.txt)",
        "29": "808.6 s in minutes and seconds (docs/repro-2026-12-07.txt)",
    },
    "docs/refusals.md": {
        **{
            n: "a position inside a quoted refusal message, which tests/test_refusals.py produces and holds to the page"
            for n in ("17", "19", "20")
        },
        "3.403e+38": "float32's largest value as the quoted message prints it (numpy's finfo), held to the page by tests/test_refusals.py",
    },
    "docs/results.md": {"95": "the confidence level of the intervals (lecun1989/reporting/uncertainty.py's 0.975 quantile)"},
}

NUMBER = re.compile(r"(?<![\w.\-/])(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:e[-+]?\d+)?(?![\w])")
SOURCE_NUMBER = re.compile(r"\d[\d_]*(?:\.\d+)?(?:e[-+]?\d+)?")


def value(n: str) -> float:
    return float(n.replace(",", "").replace("_", ""))


def numbers(text: str) -> list[str]:
    """The numbers of a page's prose, as written."""
    return [m.group() for m in NUMBER.finditer(prose(QUOTED.sub("", text)))]


def source_values(path: str) -> set[float]:
    text = (ROOT / path).read_text()
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)  # 7,291 -> 7291
    return {value(m.group()) for m in SOURCE_NUMBER.finditer(text)}


def unaccounted(page: str) -> list[str]:
    if page in PAGE_EXCEPTIONS:
        return []
    values = set().union(*(source_values(s) for s in SOURCES[page]))
    left = []
    for n in numbers((ROOT / page).read_text()):
        if value(n) in values or n in EXCEPTIONS.get(page, {}) or any(test(n) for test, _ in CATEGORIES):
            continue
        left.append(n)
    return sorted(set(left), key=value)


def test_every_page_says_where_its_numbers_come_from():
    assert sorted(SOURCES) == sorted(map(page_name, PAGES)), "a page of docs/ to add to SOURCES (or one to drop)"
    for page, files in SOURCES.items():
        for f in files:
            assert (ROOT / f).is_file(), f"{page}: {f} is not a file of the repository"


def test_every_exception_is_still_used_and_has_a_reason():
    for page, exceptions in EXCEPTIONS.items():
        found = set(numbers((ROOT / page).read_text()))
        for n, reason in exceptions.items():
            assert n in found, f"{page}: exception {n} is no longer on the page: drop it"
            assert len(reason) > 20, f"{page}: {n}: give the reason"


def test_the_check_finds_a_number_typed_in():
    page = (ROOT / "docs/engines.md").read_text() + "\nThe kernel runs a step in 6.2 µs.\n"
    values = set().union(*(source_values(s) for s in SOURCES["docs/engines.md"]))
    assert "6.2" in numbers(page) and 6.2 not in values


def test_anchor_columns_are_figures_of_anchors_md():
    anchors = (ROOT / "docs/anchors.md").read_text()
    for name, row in results_table.ANCHORS.items():
        for source, figure in row.items():
            assert re.search(rf"(?<![\d.]){re.escape(figure.split()[0])}(?![\d])", anchors), (
                f"{name} {source}: {figure} is not in docs/anchors.md"
            )


def test_the_experiment_transcript_is_its_committed_output_and_its_head_the_committed_metrics():
    output = (ROOT / "docs/experiment-adamw-lr1e-3.txt").read_text().splitlines()
    page = (ROOT / "docs/experiments.md").read_text()
    block = next(body for marker, body, _ in code_blocks(page) if any(line.startswith("$ dvc metrics diff") for line in body))
    assert commands(block) == ["dvc params diff --md", "dvc metrics diff --md"]
    for line in block:
        assert not line.strip() or line in output, f"docs/experiments.md: not a line of docs/experiment-adamw-lr1e-3.txt: {line}"
    rows = 0
    for line in output:
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 5 and cells[0].startswith("metrics/"):
            node = json.loads((ROOT / cells[0]).read_text())
            key = cells[1]
            if cells[0] == "metrics/paired.json":
                pair, key = key.split(".", 1)
                node = node[pair]
            for part in key.split("."):
                node = node[part]
            assert float(cells[2]) == pytest.approx(node, rel=1e-4, abs=1e-5), (
                f"{cells[0]} {cells[1]}: the experiment's HEAD is {cells[2]}, the committed value {node}: run the experiment "
                "again (docs/experiment-adamw-lr1e-3.txt's first lines) and replace the file"
            )
            rows += 1
    assert rows > 10
