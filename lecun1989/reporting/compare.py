"""Compare metrics files against expected ones: exactly where both come from the same native build
(its arithmetic is a fixed sequence of IEEE-754 operations: the same bits on every machine it runs
on), else under the declared tolerances of verify/tolerances.yaml."""

import fnmatch
import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Tolerance:
    metric: str  # fnmatch pattern over "<split>.<quantity>.<statistic>", e.g. "test.error.mean"
    abs: float = 0.0
    rel: float = 0.0  # of |expected|
    why: str = ""

    def allows(self, expected: float, got: float) -> bool:
        return abs(got - expected) <= self.abs + self.rel * abs(expected)

    def __str__(self) -> str:
        return f"+-{self.abs:g}" + (f" + {self.rel:.0%}" if self.rel else "")


@dataclass(frozen=True)
class Row:
    variant: str
    metric: str
    expected: float | None
    got: float | None
    tolerance: Tolerance | None

    @property
    def verdict(self) -> str:
        if self.expected is None:
            return "FAIL: not expected"
        if self.got is None:
            return "FAIL: missing"
        if self.tolerance is None:
            return "FAIL: no tolerance declared"
        if not all(map(math.isfinite, (self.expected, self.got))):
            return "FAIL: not finite"
        return "ok" if self.tolerance.allows(self.expected, self.got) else "FAIL"

    @property
    def ok(self) -> bool:
        return self.verdict == "ok"


def load_tolerances(path, section: str) -> list[Tolerance]:
    """The first rule whose pattern matches a metric is its tolerance; a metric with none fails."""
    from lecun1989.pipeline import readers

    return [Tolerance(**rule) for rule in readers.yaml_file(path)[section]]


EXACT = Tolerance("*", 0.0, 0.0, "both runs on the same native build: the same bits")


def flatten(obj, prefix: str = "") -> dict[str, float]:
    """The numbers of a metrics file by dotted path; the engine record (strings) is not a number."""
    if isinstance(obj, dict):
        return {k: v for key, value in obj.items() for k, v in flatten(value, f"{prefix}{key}.").items()}
    return {} if isinstance(obj, str) else {prefix.removesuffix("."): float(obj)}


def engines(metrics: dict[str, dict]) -> set[str]:
    """Every engine record (train and evaluate) of a set of metrics files; a variant's file without one
    (it has n_runs) counts as unrecorded. Files derived from them (paired.json) record none."""
    records = [m.get("engine", {"train": "unrecorded"}) for m in metrics.values() if "engine" in m or "n_runs" in m]
    return {f"{part}: {desc}" for record in records for part, desc in record.items()}


def exact_comparison(expected: dict[str, dict], got: dict[str, dict]) -> bool:
    """Whether every number must match bit for bit: both sides trained and evaluated by one native build."""
    used = engines(expected) | engines(got)
    return bool(used) and all(e.split(": ", 1)[1].startswith("native ") for e in used) and engines(expected) == engines(got)


def compare(expected: dict[str, dict], got: dict[str, dict], tolerances: list[Tolerance]) -> list[Row]:
    """expected, got: {variant: metrics JSON}. Every metric of either side gets a row."""
    rows = []
    for variant in sorted(set(expected) | set(got)):
        exp, act = flatten(expected.get(variant, {})), flatten(got.get(variant, {}))
        for metric in sorted(set(exp) | set(act)):
            rule = next((t for t in tolerances if fnmatch.fnmatchcase(metric, t.metric)), None)
            rows.append(Row(variant, metric, exp.get(metric), act.get(metric), rule))
    return rows


def table(rows: list[Row]) -> str:
    def num(x):
        return "-" if x is None else f"{x:.6g}"

    header = ("variant", "metric", "expected", "got", "diff", "tolerance", "verdict")
    lines = [header]
    for r in rows:
        diff = None if r.expected is None or r.got is None else r.got - r.expected
        lines.append((r.variant, r.metric, num(r.expected), num(r.got), num(diff), str(r.tolerance or "-"), r.verdict))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip() for line in lines)
