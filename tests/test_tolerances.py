"""verify/tolerances.yaml's reasons work their statistics out for a number of runs per row, named
once in its header: it is what every row of params.yaml has (draws of its dataset times its seeds)."""

import re

from pipeline import ROOT

from lecun1989.pipeline.schema import load_params
from lecun1989.reporting import compare, verify

WORKED_OUT_FOR = re.compile(r"worked out for n = (\d+) runs, (\d+) seeds a draw")


def header() -> str:
    """The comment lines above the rules, as one line."""
    lines = (ROOT / verify.TOLERANCES).read_text().split("\nfull:")[0].splitlines()
    return " ".join(line.lstrip("#").strip() for line in lines)


def test_the_reasons_count_the_runs_every_row_of_params_yaml_has():
    n, seeds = map(int, WORKED_OUT_FOR.search(header()).groups())
    params = load_params(ROOT / "params.yaml")
    for name, v in params.variants.items():
        assert (len(params.datasets[v.dataset].draws) * v.n_seeds, v.n_seeds) == (n, seeds), (
            f"{name}: verify/tolerances.yaml's reasons are worked out for {n} runs of {seeds} seeds a draw: work them out again"
        )


def test_the_reasons_name_the_count_only_in_the_header():
    n, _ = WORKED_OUT_FOR.search(header()).groups()
    for rule in compare.load_tolerances(ROOT / verify.TOLERANCES, "full"):
        assert not re.search(rf"(?<![\d.]){n} (runs|pairs|values|differences|losses)", rule.why), rule
