"""The published figures (lecun1989/reporting/anchors.py) are written once: the results table's anchor
columns and docs/anchors.md's generated blocks both come from them, and each figure beside a row is
in those blocks."""

import re

from helpers import VARIANTS
from pipeline import ROOT

from lecun1989.reporting import anchors, blocks, results_table


def generated_text() -> str:
    page = (ROOT / anchors.PAGE).read_text()
    found = []
    for block in anchors.BLOCKS:
        start, end = blocks.markers(block)
        found.append(page[page.index(start) + len(start) : page.index(end)])
    return "\n".join(found)


def test_the_table_reads_its_anchor_columns_from_the_one_source():
    assert results_table.ANCHORS is anchors.ANCHORS
    assert results_table.BLOCKS[anchors.PAGE] == anchors.BLOCKS


def test_every_row_with_anchors_is_a_variant():
    assert set(anchors.ANCHORS) <= set(VARIANTS)
    assert {"lecun1989", *anchors.CHANGES, *anchors.BLOG_50K} <= set(anchors.ANCHORS)


def test_the_pages_blocks_are_the_ones_written_from_the_source():
    text = generated_text()
    for block in anchors.blocks().values():
        assert block in text, "docs/anchors.md is stale: run python -m lecun1989.reporting.results_table --write"


def test_every_anchor_figure_is_in_the_pages_generated_blocks():
    text = generated_text()
    for name, row in anchors.ANCHORS.items():
        for source, figure in row.items():
            for number in re.findall(r"\d[\d.e-]*", figure):
                assert re.search(rf"(?<![\d.]){re.escape(number)}(?![\d])", text), f"{name} {source}: {number} of {figure}"


def test_implied_misses_of_the_blog_rows():
    assert [anchors.implied_misses(e) for _, e in anchors.BLOG_50K.values()] == [55, 25]
