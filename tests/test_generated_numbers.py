"""No result is typed by hand: a figure of the results (a number the report's generated blocks show,
as a percentage, a "points" difference or a "±" spread) found in the prose of README.md or docs/*.md
outside a generated block fails, unless it is a published figure (docs/anchors.md: the paper's and
the other reproductions' numbers, which the table shows beside ours). test_docs.py checks every page
with `typed_results`."""

import re

from pages import generated_blocks, prose
from pipeline import ROOT

from lecun1989.reporting import results_table, runs_needed

# Published figures that prose may cite (docs/anchors.md; the table's anchor columns come from ANCHORS):
# the paper's train error and its rejection for 1 % error.
PUBLISHED = {"0.14", "12.1"} | {re.match(r"[\d.]+", v).group() for row in results_table.ANCHORS.values() for v in row.values()}
NUM = r"[−+-]?\d+(?:[.,]\d+)*"
JOIN = r"\s*(?:±|–|—|-|to|and|,|/|→)\s*"
# a run of numbers joined as in "4.27 ± 0.42 %", "from 3.80, 4.60 and 4.40 %", "−0.90 to −0.10 points"
PHRASE = re.compile(rf"(?<![\w.]){NUM}(?:{JOIN}{NUM})*\s*(?:%|points?\b|percentage points)|(?<![\w.]){NUM}\s*±\s*{NUM}")
DECIMAL = re.compile(r"\d+\.\d+")
# Figures that are settings, not results, in the one file that explains them: the half-width targets.
SETTINGS = {results_table.STATISTICS.name: {f"{t:.2f}" for t in runs_needed.TARGET_HALF_WIDTH.values()}}


def result_figures() -> set[str]:
    """Every decimal number the README's generated blocks show (sign dropped), less the published ones."""
    blocks = generated_blocks((ROOT / "README.md").read_text())
    return {n for block in blocks for n in DECIMAL.findall(block)} - PUBLISHED


def typed_results(text: str, figures: set[str]) -> list[str]:
    return [m.group() for m in PHRASE.finditer(prose(text)) if any(n in figures for n in DECIMAL.findall(m.group()))]


def test_the_check_sees_results_and_catches_one_typed_in():
    import json

    figures = result_figures()
    paired = json.loads((ROOT / "metrics/paired.json").read_text())
    for key, p in paired.items():  # (a result equal to a published figure is not counted as a result)
        assert {f"{abs(p['mean']):.2f}", f"{abs(p['ci95_low']):.2f}"} <= figures | PUBLISHED, key
    entry = paired["change2_adamw-change1_softmax"]
    for typed in (
        f"AdamW gains {-entry['mean']:.2f} points.",
        f"a mean of {entry['mean']:+.2f} ± {entry['std']:.2f} paired",
        f"the interval runs from {entry['ci95_low']:.2f} %",
    ):
        readme = (ROOT / "README.md").read_text().replace("## Results\n", f"## Results\n{typed}\n", 1)
        assert typed_results(readme, figures), typed
    assert not typed_results("The paper reports 5.00 % and 12.1 % rejected; 1 % error; 60 % of the ceiling.", figures)
