"""The reading of a paired comparison, in words, from its paired.json entry: what the README and
metrics/results.md say about each pair, and whether it held on independent runs (the same reading
from runs on other draws and seeds, metrics/independent/; docs/independent-runs.md shows both)."""

LOWER, HIGHER, NONE = "lower", "higher", "no detectable difference"
HELD, NOT_HELD = "held on independent runs", "did not hold on independent runs"
INDEPENDENT_PAGE = "docs/independent-runs.md"


def verdict(entry: dict) -> str:
    """lower or higher when the 95 % interval of the mean paired difference excludes zero, else none
    (also when there are too few pairs for an interval)."""
    low, high = entry.get("ci95_low"), entry.get("ci95_high")
    if low is not None and high < 0:
        return LOWER
    if low is not None and low > 0:
        return HIGHER
    return NONE


def interval(entry: dict) -> str:
    if "ci95_low" not in entry:
        return f"{entry['n_pairs']} pair: no interval"
    return f"95 % CI {entry['ci95_low']:+.2f} to {entry['ci95_high']:+.2f}"


def sentence(entry: dict) -> str:
    """'lower by X points (95 % CI a to b; k of n pairs below zero)', 'higher by ...', or
    'no detectable difference (95 % CI a to b)'."""
    v, n = verdict(entry), entry["n_pairs"]
    if v == LOWER:
        return f"lower by {-entry['mean']:.2f} points ({interval(entry)}; {entry['n_below_zero']} of {n} pairs below zero)"
    if v == HIGHER:
        return f"higher by {entry['mean']:.2f} points ({interval(entry)}; {entry['n_above_zero']} of {n} pairs above zero)"
    return f"{NONE} ({interval(entry)})"


def pair_names(key: str) -> tuple[str, str]:
    """'<variant>-<baseline>' -> (variant, baseline); variant names hold no '-' (params schema)."""
    name, base = key.split("-", 1)
    return name, base


def holds(entry: dict, there: dict) -> bool:
    """Whether a claim holds on independent runs: both readings say the same (lower, higher, none)."""
    return verdict(entry) == verdict(there)


def retried(entry: dict, there: dict) -> str:
    """'held on independent runs', or 'did not hold on independent runs: <the reading there>'."""
    return HELD if holds(entry, there) else f"{NOT_HELD}: {sentence(there)}"


def summary(paired: dict, independent: dict, link: str = INDEPENDENT_PAGE) -> str:
    """'k of n claims held on independent runs (<link>)', over the pairs that independent holds."""
    keys = [key for key in paired if key in independent]
    held = sum(holds(paired[key], independent[key]) for key in keys)
    line = f"{held} of {len(keys)} claims held on independent runs ([{INDEPENDENT_PAGE}]({link}))"
    left = [key for key in paired if key not in independent]
    if left:
        line += f"; not retried there: {', '.join(left)}"
    return line + "."


def block(paired: dict, independent: dict | None = None, link: str = INDEPENDENT_PAGE, notes: dict | None = None) -> str:
    """The generated reading: one line per pair, the variant's test error against its baseline's,
    and where independent (paired.json's entries from the independent runs) holds the pair, whether
    the claim held there; then how many held. notes: {pair key: where its test digits come from}
    for the pairs not on MNIST."""
    independent, notes = independent or {}, notes or {}
    lines = []
    for key, entry in paired.items():
        name, base = pair_names(key)
        where = f" ({notes[key]})" if key in notes else ""
        again = f"; {retried(entry, independent[key])}" if key in independent else ""
        lines.append(f"- **{name}** against {base}{where}: {sentence(entry)}{again}.")
    if any(key in independent for key in paired):
        lines += ["", summary(paired, independent, link)]
    return "\n".join(lines)
