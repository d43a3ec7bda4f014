"""The one reader of every JSON, YAML and CSV file that the stages, the report and the tools read:
each is bounded in size (MAX_BYTES), in nesting (MAX_DEPTH) and in the digits of an integer
(MAX_DIGITS), must be UTF-8, and holds no NaN or infinity. What breaks a bound raises Unreadable
with one short reason; the caller turns it into its own one-line refusal that names the file and
the fix. Metrics are numbers in a range: `number` checks one."""

import csv
import io
import json
import math
from pathlib import Path

MAX_BYTES = 256 * 2**20  # the largest per-run file (64 draws x 64 seeds, misread lists) is far below
MAX_DEPTH = 32  # the deepest file read (dvc.lock) nests 6
MAX_DIGITS = 30  # a seed, a count or a digest position; Python refuses int() past 4,300


class Unreadable(ValueError):
    """Why a file cannot be read as what it should be, in a few words."""


def read_bytes(path: str | Path, limit: int | None = None) -> bytes:
    """The bytes of `path`, refused past `limit` (default MAX_BYTES) unread (OSError passes through)."""
    limit = limit or MAX_BYTES
    with open(path, "rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise Unreadable(f"larger than {limit:,} bytes")
    return data


def text(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise Unreadable(f"byte {e.start} is not UTF-8") from None


def integer(digits: str) -> int:
    if len(digits.lstrip("+-").replace("_", "")) > MAX_DIGITS:
        raise Unreadable(f"an integer of {len(digits)} digits (at most {MAX_DIGITS})")
    return int(digits)


def _finite(digits: str) -> float:
    value = float(digits)
    if not math.isfinite(value):
        raise Unreadable(f"{digits[:20]} is out of the range of a float")
    return value


def _no_constant(name: str):
    raise Unreadable(f"{name} is not a number JSON allows")


def depth(obj) -> int:
    """How deep lists and dicts nest in obj (without recursion)."""
    deepest, stack = 0, [(obj, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            if level > MAX_DEPTH:
                break
            stack += [(child, level + 1) for child in (item.values() if isinstance(item, dict) else item)]
    return deepest


def _shallow(obj):
    if depth(obj) > MAX_DEPTH:
        raise Unreadable(f"nested deeper than {MAX_DEPTH} levels")
    return obj


def parse_json(data: bytes | str):
    """A JSON document within the bounds: finite numbers, short integers, shallow nesting."""
    source = text(data) if isinstance(data, bytes) else data
    try:
        obj = json.loads(source, parse_int=integer, parse_float=_finite, parse_constant=_no_constant)
    except RecursionError:
        raise Unreadable(f"nested deeper than {MAX_DEPTH} levels") from None
    except json.JSONDecodeError as e:
        raise Unreadable(f"not JSON: {e.msg} at line {e.lineno}, column {e.colno}") from None
    return _shallow(obj)


def json_file(path: str | Path, limit: int | None = None):
    return parse_json(read_bytes(path, limit))


def parse_yaml(path: str | Path, data: bytes):
    """A YAML 1.2 document, as DVC reads it, screened as params.yaml is (yaml12.py)."""
    from lecun1989.pipeline import yaml12

    return yaml12.parse(Path(path), text(data), Unreadable, MAX_DEPTH, ("a file the pipeline reads", f"{Path(path).name} nests fewer"))


def yaml_file(path: str | Path, limit: int | None = None):
    return parse_yaml(path, read_bytes(path, limit))


def csv_rows(path: str | Path, delimiter: str = ",", limit: int | None = None) -> list[dict[str, str]]:
    """The rows of a CSV (or TSV) file with a header, each {column: cell}; a ragged row is refused."""
    reader = csv.reader(io.StringIO(text(read_bytes(path, limit)), newline=""), delimiter=delimiter)
    try:
        header, *rows = list(reader) or [[]]
    except csv.Error as e:
        raise Unreadable(f"not CSV: {e}") from None
    for i, row in enumerate(rows, start=2):
        if len(row) != len(header):
            raise Unreadable(f"line {i} has {len(row)} cells, the header {len(header)}")
    return [dict(zip(header, row)) for row in rows]


def number(value, low: float = -math.inf, high: float = math.inf, what: str = "a value") -> float:
    """value as a finite number in [low, high]; a bool, a string or NaN is refused."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Unreadable(f"{what} is {value!r:.40}, not a number")
    if not (math.isfinite(value) and low <= value <= high):
        raise Unreadable(f"{what} is {value!r:.40}, outside {low:g} to {high:g}")
    return value
