"""The per-draw means and the paired comparison of two variants, against hand computations."""

import numpy as np
import pytest

from lecun1989.evaluation import scoring


def test_by_draw_means_each_draws_runs():
    values = [1.0, 2.0, 4.0, 10.0, 20.0]
    draws = [43, 43, 43, 42, 42]
    assert scoring.by_draw(values, draws) == {"draw_43": 7 / 3, "draw_42": 15.0}


def test_paired_difference_matches_a_hand_computation():
    runs = [(42, 0), (42, 1), (43, 0), (43, 1)]
    values = [3.0, 4.0, 5.0, 2.0]
    base_runs = [(43, 1), (43, 0), (42, 1), (42, 0), (44, 0)]  # another order, and a run the variant lacks
    base_values = [1.0, 4.0, 3.5, 2.0, 99.0]
    # pairs: (42,0) 3-2=1, (42,1) 4-3.5=0.5, (43,0) 5-4=1, (43,1) 2-1=1
    diffs = np.array([1.0, 0.5, 1.0, 1.0])
    got = scoring.paired(runs, values, base_runs, base_values)
    assert got["n_pairs"] == 4
    assert got["mean"] == pytest.approx(0.875) and got["min"] == 0.5 and got["max"] == 1.0
    assert got["std"] == pytest.approx(diffs.std(ddof=1)) and got["std"] == pytest.approx(0.25)
    assert got["sem"] == pytest.approx(0.25 / 2)


def test_paired_needs_a_common_run():
    with pytest.raises(ValueError, match="no \\(draw, seed\\) run in common"):
        scoring.paired([(42, 0)], [1.0], [(43, 0)], [2.0])


def test_pairing_cancels_what_the_draw_adds():
    """Two variants whose runs differ by exactly 0.3 points on every draw, while the draws themselves
    differ by 2 points: the paired difference sees 0.3 with no spread; unpaired means would carry
    the draws' spread."""
    runs = [(d, s) for d in (42, 43, 44) for s in (0, 1)]
    draw_effect = {42: 0.0, 43: 2.0, 44: -2.0}
    base = [3.0 + draw_effect[d] + 0.1 * s for d, s in runs]
    mine = [b - 0.3 for b in base]
    got = scoring.paired(runs, mine, runs, base)
    assert got["mean"] == pytest.approx(-0.3) and got["std"] == pytest.approx(0.0, abs=1e-12)
    assert scoring.spread(mine)["std"] > 1.5


def test_results_table_shows_each_rows_paired_difference():
    """The committed table: every row with a baseline shows its paired difference and pair count."""
    from pipeline import ROOT

    from lecun1989.reporting import results_table

    text = results_table.outputs(ROOT)[results_table.TABLE]
    params = results_table.load_params(ROOT / "params.yaml")
    for name in params.variants:
        row = next(line for line in text.splitlines() if line.startswith(f"| {name} |"))
        base = params.baseline_of(name)
        assert (f"vs {base} (" in row) == (base is not None), row
