"""The README's generated words: the reading says, pair by pair, whether each claim held on the
independent runs, and cannot disagree with docs/independent-runs.md; the summary sentence above the
table places the 1989 row's runs against the published single runs, on every dataset it has."""

import re
from types import SimpleNamespace

from pages import block
from pipeline import ROOT

from lecun1989.reporting import reading, results_table

README = (ROOT / "README.md").read_text()
PAGE = (ROOT / "docs/independent-runs.md").read_text()


def page_rows() -> dict[str, tuple[str, bool]]:
    """{pair: (the reading on the second folder, holds)} from docs/independent-runs.md's table."""
    rows = {}
    for line in PAGE.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 4 and cells[3] in ("yes", "**no**"):
            rows[cells[0]] = (cells[2], cells[3] == "yes")
    return rows


def readme_lines() -> dict[str, str]:
    """{pair: the reading's line} from the README's generated reading."""
    found = {}
    for line in block(README, results_table.RESULTS_READING).splitlines():
        m = re.match(r"- \*\*(\w+)\*\* against (\w+)(?: \([^)]*\))?: (.*)\.$", line)  # (how its test digits were drawn)
        if m:
            found[f"{m.group(1)}-{m.group(2)}"] = m.group(3)
    return found


def test_the_readme_reading_and_the_independent_runs_page_agree():
    rows, lines = page_rows(), readme_lines()
    assert rows, "docs/independent-runs.md has no claims"
    for pair, line in lines.items():
        if pair not in rows:
            assert reading.HELD not in line and reading.NOT_HELD not in line, f"{pair}: retried in the README, not on the page"
            continue
        there, holds = rows[pair]
        if holds:
            assert line.endswith(f"; {reading.HELD}"), f"{pair}: the page says it held: {line}"
        else:
            assert line.endswith(f"; {reading.NOT_HELD}: {there}"), f"{pair}: the page says it did not hold ({there}): {line}"
    assert set(rows) <= set(lines), f"pairs on the page that the README does not read: {set(rows) - set(lines)}"
    held = sum(holds for _, holds in rows.values())
    page_count = re.search(r"^(\d+) of (\d+) claims hold\.$", PAGE, re.M).groups()
    readme_count = re.search(r"^(\d+) of (\d+) claims held on independent runs \(", README, re.M).groups()
    assert page_count == readme_count == (str(held), str(len(rows))), (page_count, readme_count)


def entry(mean, low, high, below=3, above=0, n=3):
    return {"mean": mean, "ci95_low": low, "ci95_high": high, "n_pairs": n, "n_below_zero": below, "n_above_zero": above}


def test_the_reading_says_whether_each_claim_held_and_how_many():
    paired = {"b-a": entry(-1.0, -1.5, -0.5), "c-b": entry(-0.5, -0.9, -0.1), "d-c": entry(0.1, -0.2, 0.4, 1, 2)}
    independent = {"b-a": entry(-0.8, -1.2, -0.4), "c-b": entry(0.1, -0.3, 0.5, 1, 2)}  # d-c not retried
    lines = reading.block(paired, independent).splitlines()
    assert lines[0].endswith("pairs below zero); held on independent runs.")
    assert lines[1].endswith("did not hold on independent runs: no detectable difference (95 % CI -0.30 to +0.50).")
    assert lines[2] == "- **d** against c: no detectable difference (95 % CI -0.20 to +0.40)."
    assert (
        lines[-1]
        == "1 of 2 claims held on independent runs ([docs/independent-runs.md](docs/independent-runs.md)); not retried there: d-c."
    )
    assert reading.block(paired) == "\n".join(lines[:3]).replace("; held on independent runs", "").replace(
        "; did not hold on independent runs: no detectable difference (95 % CI -0.30 to +0.50)", ""
    )


def test_the_summary_places_the_published_runs_on_every_dataset_it_has():
    def runs(errors):
        return {"test": {"error_pct": errors}}

    params = SimpleNamespace(variants={"lecun1989": None, "change1_softmax": None})
    text = results_table.summary(params, {"lecun1989": runs([3.5, 4.0, 4.5])})
    assert text.startswith("What the table finds: on MNIST, ") and text.count("misreads") == 1, text
    assert "4.00 ± 0.50 % of the test digits over 3 runs (3.50–4.50 %)" in text
    assert "the paper's 5.00 % (on its own, harder zip-code digits) lies above every run" in text
    assert "the seed notebook's 3.69 % and karpathy's 4.09 % lie within the range of the runs" in text

    params.variants["lecun1989_usps"] = None  # the paper's kind of digits, when params.yaml has the row
    text = results_table.summary(params, {"lecun1989": runs([3.5, 4.0, 4.5]), "lecun1989_usps": runs([5.5, 6.0])})
    assert "; and on the paper's own USPS digits, resplit, the same recipe" in text and "(`lecun1989_usps`)" in text
    assert "the paper's 5.00 % (on its own, harder test split) lies below every run." in text, text


def test_the_readme_begins_with_the_generated_summary():
    head = README[: README.index("## ")]
    assert block(head, results_table.RESULTS_SUMMARY).startswith("What the table finds: on MNIST, ")
