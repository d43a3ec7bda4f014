"""Every relative link and #anchor in README.md and docs/*.md resolves as GitHub shows them: a link's
file is in the repository (committed, or about to be), and an anchor names a heading of its Markdown
file by GitHub's rules (github-slugger: the heading's text in lower case, every character that is not
a letter, digit, space, hyphen or underscore dropped, spaces turned into hyphens, and -1, -2, ... after
a repeated one) or an HTML id= or name=. test_docs.py checks every page with `broken`; the tests here
hold the rules themselves."""

import os
import re
import subprocess
from collections import Counter
from pathlib import Path
from urllib.parse import unquote

from markdown_it import MarkdownIt
from pipeline import ROOT

SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*:|//)", re.I)  # https:, mailto:, //host: not relative
HTML_ID = re.compile(r"""\b(?:id|name)\s*=\s*["']([^"']+)["']""")
LINE_ANCHOR = re.compile(r"L\d+(-L\d+)?")  # GitHub's line anchors of a file that is not Markdown
PARSER = MarkdownIt("commonmark").enable(["table", "strikethrough"])  # GitHub Flavored Markdown's blocks


def slug(text: str) -> str:
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def anchors(markdown: str) -> set[str]:
    tokens, found, seen = PARSER.parse(markdown), set(), Counter()
    for i, token in enumerate(tokens):
        if token.type == "heading_open":
            text = "".join(child.content for child in tokens[i + 1].children if child.type in ("text", "code_inline"))
            base = slug(text)
            found.add(f"{base}-{seen[base]}" if seen[base] else base)
            seen[base] += 1
        if token.type in ("html_block", "html_inline"):
            found |= set(HTML_ID.findall(token.content))
        for child in token.children or []:
            if child.type == "html_inline":
                found |= set(HTML_ID.findall(child.content))
    return found


def links(markdown: str) -> list[str]:
    """The targets of every link and image, code blocks and code spans left out by the parser."""
    found = []
    for token in PARSER.parse(markdown):
        for child in token.children or []:
            if child.type == "link_open":
                found.append(child.attrs["href"])
            elif child.type == "image":
                found.append(child.attrs["src"])
    return found


def in_repository() -> set[str]:
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode()
    files = set(filter(None, listed.split("\0")))
    return files | {str(parent) for f in files for parent in Path(f).parents if str(parent) != "."}


def broken(doc: Path, root: Path = ROOT, present: set[str] | None = None) -> list[str]:
    """One line for each link of doc that does not resolve."""
    present = in_repository() if present is None else present
    problems = []
    for href in links(doc.read_text()):
        if SCHEME.match(href):
            continue
        path, _, fragment = href.partition("#")
        target = doc
        if path:  # GitHub reads /path from the repository's root
            target = ((root if path.startswith("/") else doc.parent) / unquote(path).lstrip("/")).resolve()
            rel = Path(os.path.relpath(target, root.resolve())).as_posix()
            if rel.startswith("../") or rel not in present:
                problems.append(f"{href}: no {rel} in the repository")
                continue
        if fragment and target.suffix == ".md":
            if unquote(fragment) not in anchors(target.read_text()):
                problems.append(f"{href}: no heading or id {fragment!r} in {Path(os.path.relpath(target, root.resolve())).as_posix()}")
        elif fragment and not LINE_ANCHOR.fullmatch(fragment):
            problems.append(f"{href}: an anchor in a file that is not Markdown")
    return problems


def test_anchors_follow_githubs_rules():
    markdown = "# The 1989 network (`lecun1989/network/model.py`)\n## Error % (misses in brackets)\n## Results\n## Results\n## A — b_c\n"
    assert anchors(markdown) == {"the-1989-network-lecun1989networkmodelpy", "error--misses-in-brackets", "results", "results-1", "a--b_c"}


def test_broken_links_and_anchors_are_found(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs/other.md").write_text("# Other page\n")
    doc = tmp_path / "docs/page.md"
    doc.write_text(
        '# Page\n<a id="here"></a>\n[ok](#page) [ok](#here) [ok](other.md#other-page) [ok](https://example.com/#x)\n'
        "[bad](#nowhere) [bad](missing.md) [bad](other.md#page) ![bad](figures/none.png)\n\n    [in code](#not-a-link)\n"
        "`[in a span](#not-a-link)`\n"
    )
    problems = broken(doc, tmp_path, present={"docs", "docs/page.md", "docs/other.md"})
    assert [p.split(":")[0] for p in problems] == ["#nowhere", "missing.md", "other.md#page", "figures/none.png"], problems
