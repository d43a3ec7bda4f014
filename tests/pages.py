"""The pages (README.md and docs/*.md) as the tests of docs read them: their indented code blocks and
the commands in them, their prose, and the blocks the report generates."""

import re
from pathlib import Path

from pipeline import ROOT

from lecun1989.reporting import blocks, independent_runs, results_table

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
RUNNABLE_MARK, NOT_RUN_MARK = "<!-- runnable -->", "<!-- not run -->"
PLACEHOLDER = re.compile(r"<[a-z][a-z-]*>")
QUOTED = re.compile(r"<!-- quoted from (\S+) -->\n(.*?)<!-- end quoted -->", re.S)
# The blocks the report writes between <!-- NAME:start --> and <!-- NAME:end -->.
GENERATED = (*{b for blocks in results_table.BLOCKS.values() for b in blocks}, independent_runs.BLOCK)


def page_name(page: Path) -> str:
    """The page's path in the repository: README.md, docs/<page>.md."""
    return page.relative_to(ROOT).as_posix()


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


def block(text: str, name: str) -> str:
    """The text of the generated block `name`, between its markers."""
    start, end = blocks.markers(name)
    return text[text.index(start) + len(start) : text.index(end)].strip()


def generated_blocks(text: str) -> list[str]:
    found = []
    for name in GENERATED:
        start, end = blocks.markers(name)
        found += [m.group(1) for m in re.finditer(re.escape(start) + r"(.*?)" + re.escape(end), text, re.S)]
    return found


def prose(text: str) -> str:
    """text without its generated blocks, its indented code blocks (commands and their recorded
    output) and HTML comments."""
    for name in GENERATED:
        start, end = blocks.markers(name)
        text = re.sub(re.escape(start) + r".*?" + re.escape(end), "", text, flags=re.S)
    text = re.sub(r"<!--.*?-->", "", text, flags=re.S)
    return "\n".join(line for line in text.splitlines() if not line.startswith("    "))
