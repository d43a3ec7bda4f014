"""Compare metrics files against expected ones: exactly where the native engine made both under one
arithmetic contract (its sources, target, flags and denormal handling fix a sequence of IEEE-754
operations: the same bits on every machine and from every compiler that builds it), else under the
declared tolerances of verify/tolerances.yaml."""

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


EXACT = Tolerance("*", 0.0, 0.0, "both runs on the native engine under one arithmetic contract: the same bits")


def flatten(obj, prefix: str = "") -> dict[str, float]:
    """The numbers of a metrics file by dotted path; the engine record (strings) is not a number."""
    if isinstance(obj, dict):
        return {k: v for key, value in obj.items() for k, v in flatten(value, f"{prefix}{key}.").items()}
    return {} if isinstance(obj, str) else {prefix.removesuffix("."): float(obj)}


# The engine record (a model's trained_by, a metrics file's engine.train and engine.evaluate) is
# "<engine> engine (<what it was built for>)"; the native engine's (training/native/build.py's
# description()) is "native engine (sources <digest>, target <-march>, flags <flags>, denormals <how>)":
# its arithmetic contract, and no compiler.
CONTRACT = ("sources", "target", "flags", "denormals")


@dataclass(frozen=True)
class EngineRecord:
    engine: str  # native, xla, reference; "unrecorded" for a variant's file without a record
    contract: tuple[tuple[str, str], ...] | None  # the native build's (field, value) pairs; None where it names none

    @property
    def contract_text(self) -> str:
        return ", ".join(f"{k} {v}" for k, v in self.contract or ())


def parse_record(text: str) -> EngineRecord:
    head, found, inner = text.partition(" engine (")
    if not found or not inner.endswith(")"):
        return EngineRecord(text, None)
    items = inner[:-1].split(", ")
    fields = dict(item.split(" ", 1) for item in items if " " in item)
    if head != "native" or len(items) != len(CONTRACT) or tuple(fields) != CONTRACT:
        return EngineRecord(head, None)
    return EngineRecord(head, tuple(fields.items()))


def engine_records(metrics: dict[str, dict]) -> dict[str, EngineRecord]:
    """{"<variant> <part>": record} of every engine record (train and evaluate) of a set of metrics files;
    a variant's file without one (it has n_runs) counts as unrecorded. Files derived from them
    (paired.json) record none."""
    return {
        f"{variant} {part}": parse_record(text) if isinstance(text, str) else EngineRecord("unrecorded", None)
        for variant, m in metrics.items()
        if "engine" in m or "n_runs" in m
        for part, text in m.get("engine", {"train": "unrecorded"}).items()
    }


def comparison(expected: dict[str, dict], got: dict[str, dict]) -> tuple[bool, str]:
    """(whether every number must match bit for bit, why, in one line): exact where every engine record
    of both sides is the native engine's and all of them name one arithmetic contract."""
    sides = {"the expected metrics": engine_records(expected), "this run": engine_records(got)}
    for side, records in sides.items():
        if not records:
            return False, f"no engine record in {side}"
        for where, record in records.items():
            if record.engine == "unrecorded":
                return False, f"{where.split()[0]} in {side} records no engine"
            if record.engine != "native":
                return False, f"{where} in {side} ran on the {record.engine} engine, which no arithmetic contract fixes"
            if record.contract is None:
                return False, f"{where} in {side} records a native build but not its arithmetic contract"
    contracts = {side: {r.contract for r in records.values()} for side, records in sides.items()}
    (exp, *more_exp), (got_, *more_got) = contracts.values()
    if more_exp or more_got:
        return False, f"the records name {len(contracts['the expected metrics'] | contracts['this run'])} arithmetic contracts, not one"
    if exp != got_:
        differ = [f"{k} {a} expected, {b} here" for (k, a), (_, b) in zip(exp, got_) if a != b]
        return False, f"the native builds' arithmetic contracts differ: {'; '.join(differ)}"
    return True, f"both sides ran the native engine under one arithmetic contract ({EngineRecord('native', exp).contract_text})"


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
