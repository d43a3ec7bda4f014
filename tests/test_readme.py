"""The README is a front door: within its length limits, its first blocks the quick start."""

from pages import code_blocks, commands, runnable
from pipeline import ROOT

README = (ROOT / "README.md").read_text()
MAX_LINES, MAX_CHARS = 160, 11_000  # docs/ holds the reference


def test_readme_within_its_length_limits_and_its_first_blocks_are_the_quick_start():
    assert len(README.splitlines()) <= MAX_LINES, (
        f"README.md has {len(README.splitlines())} lines, over {MAX_LINES}: move reference to docs/"
    )
    assert len(README) <= MAX_CHARS, f"README.md has {len(README)} characters, over {MAX_CHARS}: move reference to docs/"
    first = [c for marker, body, _ in code_blocks(README)[:3] if marker for c in commands(body)]
    assert first[0].startswith("make repro") and any(c.startswith("make test") for c in first), first
    assert any(c.startswith(".venv/bin/dvc metrics show") for c in first), first
    assert [c for block in runnable(README) for c in block if c.startswith("source .venv/bin/activate")], "the README activates the venv"
