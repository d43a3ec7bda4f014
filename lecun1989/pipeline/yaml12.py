"""params.yaml read as DVC reads it: YAML 1.2 through ruamel.yaml (DVC's own parser), so `010` or
`3e-4` mean the same number to DVC (dvc.lock, `dvc params diff`) and to the stages. What YAML allows
but a params file has no use for is refused before anything is built from it, each with one line:
bytes that are not UTF-8, a duplicate key, anchors and aliases (one alias bomb of a few hundred bytes
expands to gigabytes), an integer written with leading zeros (8 to YAML 1.1, 10 to YAML 1.2), an
integer of more than MAX_DIGITS digits and nesting deeper than MAX_DEPTH. `parse` screens any YAML
file the same way (readers.py reads dvc.lock with it)."""

import re
from pathlib import Path

from ruamel.yaml import YAML, YAMLError
from ruamel.yaml.events import AliasEvent, CollectionEndEvent, CollectionStartEvent, NodeEvent, ScalarEvent

from lecun1989.pipeline.errors import ParamsError

MAX_DEPTH = 16  # params.yaml nests 4 levels (variants.<name>.sdlm.mu)
MAX_DIGITS = 30  # the longest integer of a params file is a seed (10 digits)
LEADING_ZERO = re.compile(r"[-+]?0[0-9_]+")
PARAMS = ("a params file", "a params file nests 4")  # what the file is, how deep it nests
INTEGER = re.compile(r"[-+]?(0x[0-9a-fA-F_]+|0o[0-7_]+|[0-9_]+)")


def _where(path: Path, event) -> str:
    mark = event.start_mark
    return f"{path} (line {mark.line + 1}, column {mark.column + 1})"


def _screen(path: Path, text: str, error=ParamsError, max_depth: int = MAX_DEPTH, what: str = PARAMS) -> None:
    """Walk the event stream (no document is built): refuse aliases, anchors, leading zeros, long
    integers, depth."""
    depth = 0
    for event in YAML(typ="safe", pure=True).parse(text):
        if isinstance(event, AliasEvent) or (isinstance(event, NodeEvent) and event.anchor):
            raise error(f"{_where(path, event)}: YAML anchors and aliases are not allowed in {what[0]}; write every value out")
        plain = isinstance(event, ScalarEvent) and event.style is None
        if plain and INTEGER.fullmatch(event.value) and len(event.value) > MAX_DIGITS:
            raise error(f"{_where(path, event)}: an integer of {len(event.value)} digits; no value here has more than {MAX_DIGITS}")
        if plain and LEADING_ZERO.fullmatch(event.value):
            raise error(
                f"{_where(path, event)}: {event.value!r} has a leading zero (YAML 1.1 reads it as octal, YAML 1.2 as decimal): "
                f"write {int(event.value.replace('_', ''))}"
            )
        if isinstance(event, CollectionStartEvent):
            depth += 1
            if depth > max_depth:
                raise error(f"{_where(path, event)}: nested deeper than {max_depth} levels; {what[1]}")
        elif isinstance(event, CollectionEndEvent):
            depth -= 1


def parse(path: Path, text: str, error=ParamsError, max_depth: int = MAX_DEPTH, what: str = PARAMS):
    """The YAML 1.2 document `text` (of `path`), screened; `error` with one line if it is refused."""
    try:
        _screen(path, text, error, max_depth, what)
        return YAML(typ="safe", pure=True).load(text)
    except YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = " ".join(str(getattr(e, "problem", None) or e).split())
        if type(e).__name__ == "DuplicateKeyError":
            problem = f"{problem}; a key may appear once in a mapping: delete one of them"
        raise error(f"{path} is not valid YAML{where}: {problem}") from None


def load(path: Path, data: bytes):
    """The document `data` (the bytes of `path`), as DVC reads it, or ParamsError with one line."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ParamsError(f"{path}: byte {e.start} is not UTF-8 ({e.object[e.start : e.start + 1]!r}); save the file as UTF-8") from None
    return parse(path, text)
