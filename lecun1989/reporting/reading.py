"""The reading of a paired comparison, in words, from its paired.json entry: what the README and
metrics/results.md say about each pair, and what docs/independent-runs.md checks elsewhere."""

LOWER, HIGHER, NONE = "lower", "higher", "no detectable difference"


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


def block(paired: dict, notes: dict | None = None) -> str:
    """The generated reading: one line per pair, the variant's test error against its baseline's;
    notes: {pair key: where its test digits come from} for the pairs not on MNIST."""
    lines = []
    for key, entry in paired.items():
        name, base = pair_names(key)
        where = f" ({notes[key]})" if notes and key in notes else ""
        lines.append(f"- **{name}** against {base}{where}: {sentence(entry)}.")
    return "\n".join(lines)
