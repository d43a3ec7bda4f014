"""The generated blocks of hand-written pages (README.md, docs/): each between <!-- NAME:start -->
and <!-- NAME:end -->, replaced whole and never edited by hand."""

from pathlib import Path

from lecun1989.pipeline.errors import DataError


def markers(block: str) -> tuple[str, str]:
    return f"<!-- {block}:start -->", f"<!-- {block}:end -->"


def replaced(text: str, block: str, new: str, path: Path) -> str:
    """text with the block between its markers replaced by new (path: the file, named when they are missing)."""
    start, end = markers(block)
    if start not in text or end not in text:
        raise DataError(f"{path} lacks the markers {start} ... {end}: put them where the block goes")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{new}\n{end}{tail}"
