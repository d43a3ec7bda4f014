"""The per-draw means and the paired comparison of two variants, against hand computations."""

import numpy as np
import pytest

from lecun1989.evaluation import scoring
from lecun1989.reporting import paired, reading, runs_needed, uncertainty


def test_by_draw_means_each_draws_runs():
    values = [1.0, 2.0, 4.0, 10.0, 20.0]
    draws = [43, 43, 43, 42, 42]
    assert scoring.by_draw(values, draws) == {"draw_43": 2.333333, "draw_42": 15.0}  # written with 7 significant digits


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

    from lecun1989.pipeline.schema import load_params
    from lecun1989.reporting import results_table

    text = results_table.outputs(ROOT)[results_table.TABLE]
    params = load_params(ROOT / "params.yaml")
    for name in params.variants:
        row = next(line for line in text.splitlines() if line.startswith(f"| {name} |"))
        base = params.baseline_of(name)
        assert (f"vs {base} (" in row) == (base is not None), row


# The uncertainty of a paired comparison (lecun1989/reporting/uncertainty.py), against values from
# t tables and hand-counted binomial sums.


@pytest.mark.parametrize(
    "df, table_value", [(1, 12.706), (3, 3.182), (5, 2.571), (8, 2.306), (11, 2.201), (12, 2.179), (30, 2.042), (120, 1.980)]
)
def test_t_quantile_matches_the_t_table(df, table_value):
    assert uncertainty.t_quantile(df) == pytest.approx(table_value, abs=5e-4)


def test_t_interval_matches_a_hand_computation():
    low, high = uncertainty.t_interval([1.0, 0.5, 1.0, 1.0])  # mean 0.875, sd 0.25, n 4: 0.875 +- 3.1824 * 0.25 / 2
    assert low == pytest.approx(0.875 - 3.182446 * 0.125, abs=1e-6) and high == pytest.approx(0.875 + 3.182446 * 0.125, abs=1e-6)
    with pytest.raises(ValueError, match="at least 2"):
        uncertainty.t_interval([1.0])


def test_sign_test_counts_and_drops_ties():
    assert uncertainty.sign_test([-0.1] * 9) == {"n_below_zero": 9, "n_above_zero": 0, "n_ties": 0, "p": 2 / 2**9}
    got = uncertainty.sign_test([-1, -2, -3, 1, 2, 3, -1, -1, -1])  # 6 below, 3 above: 2 (1 + 9 + 36 + 84) / 512
    assert got["p"] == 260 / 512
    tied = uncertainty.sign_test([-1, -1, -1, -1, -1, 0, 0])  # ties dropped: 5 of 5 below, p = 2 / 32
    assert tied == {"n_below_zero": 5, "n_above_zero": 0, "n_ties": 2, "p": 2 / 32}


def test_exact_binomial_agrees_with_scipy_binomtest():
    from scipy.stats import binomtest

    for n in range(0, 31):
        for k in range(n + 1):
            assert uncertainty.binomial_two_sided(k, n) == pytest.approx(binomtest(k, n).pvalue if n else 1.0, rel=1e-12), (k, n)


def test_mcnemar_pools_the_discordant_digits_of_every_run():
    # run 1: only the variant misreads 1, 2; only the baseline 4. run 2: only the baseline 6, 7, 8.
    got = uncertainty.mcnemar([[1, 2, 3], [5]], [[3, 4], [5, 6, 7, 8]])
    assert got == {"only_variant_wrong": 2, "only_baseline_wrong": 4, "p": 2 * (1 + 6 + 15) / 64}
    assert uncertainty.mcnemar([list(range(10)), []], [[], [0, 1]])["p"] == 158 / 4096  # 10 against 2: 2 (1 + 12 + 66) / 4096


def per_run_file(misread: list[list[int]], draws=(42, 43)) -> dict:
    n = 200
    return {
        "runs": [{"draw": d, "seed": 0} for d in draws],
        "test": {"misses": [len(m) for m in misread], "error_pct": [100 * len(m) / n for m in misread], "misread": misread},
    }


def test_compare_pairs_runs_and_checks_misreads_against_miss_counts():
    from lecun1989.pipeline.errors import DataError

    runs = {"v": per_run_file([[1, 2, 3], [5]]), "b": per_run_file([[5, 6, 7, 8], [3, 4]], draws=(43, 42))}  # b's runs in the other order
    got = paired.compare(runs, "v", "b")
    # pairs: draw 42: v {1,2,3} against b {3,4}; draw 43: v {5} against b {5,6,7,8}
    assert got["n_pairs"] == 2 and got["mean"] == pytest.approx((0.5 + -1.5) / 2)  # (3 - 2) and (1 - 4) misses of 200
    assert got["mcnemar"] == {"only_variant_wrong": 2, "only_baseline_wrong": 4, "p": 44 / 64}
    # b - c = the difference in misses, summed over the pairs: a check that the pairing is the runs'
    assert got["mcnemar"]["only_variant_wrong"] - got["mcnemar"]["only_baseline_wrong"] == (3 - 2) + (1 - 4)
    runs["b"]["test"]["misses"][0] += 1
    with pytest.raises(DataError, match="test.misread disagrees with test.misses"):
        paired.compare(runs, "v", "b")
    del runs["b"]["test"]["misread"]
    assert "mcnemar" not in paired.compare(runs, "v", "b")


def test_reading_says_lower_higher_or_no_detectable_difference():
    base = {"n_pairs": 9, "n_below_zero": 8, "n_above_zero": 1}
    lower = {**base, "mean": -0.5, "ci95_low": -0.73, "ci95_high": -0.27}
    assert reading.sentence(lower) == "lower by 0.50 points (95 % CI -0.73 to -0.27; 8 of 9 pairs below zero)"
    higher = {**base, "mean": 0.31, "ci95_low": 0.02, "ci95_high": 0.6}
    assert reading.sentence(higher) == "higher by 0.31 points (95 % CI +0.02 to +0.60; 1 of 9 pairs above zero)"
    none = {**base, "mean": -0.2, "ci95_low": -0.46, "ci95_high": 0.05}
    assert reading.sentence(none) == "no detectable difference (95 % CI -0.46 to +0.05)"
    assert reading.verdict({"n_pairs": 1, "mean": -3.0}) == reading.NONE


def test_runs_needed_matches_the_t_table():
    # std 0.40, target 0.25: n = 12 gives 2.201 * 0.40 / sqrt(12) = 0.254, n = 13 gives 2.179 * 0.40 / sqrt(13) = 0.242
    assert runs_needed.runs_for(0.40, 0.25) == 13
    assert runs_needed.runs_for(0.0, 0.25) == 2
    assert [runs_needed.draws_by_seeds(n) for n in (9, 10, 12, 13)] == [(3, 3), (5, 2), (4, 3), (13, 1)]


def test_generated_blocks_of_readme_and_statistics_are_current():
    from pipeline import ROOT

    from lecun1989.reporting import results_table

    for path, text in results_table.outputs(ROOT).items():
        assert (ROOT / path).read_text() == text, f"{path} is stale: run python -m lecun1989.reporting.results_table --write"


def synthetic_runs(params, seed: int = 0) -> dict:
    """A per-run file for every variant of params, as the evaluate stage writes one; no val split where
    the dataset has no validation digits (USPS)."""
    rng = np.random.default_rng(seed)
    out = {}
    for name in params.variants:
        keys = params.runs(name)
        splits = ["train", "test"] + (["val"] if params.datasets[params.variants[name].dataset].n_val else [])
        out[name] = {"runs": [{"draw": d, "seed": s} for d, s in keys]}
        for split in splits:
            out[name][split] = {"error_pct": rng.uniform(1, 5, len(keys)).tolist(), "loss": rng.uniform(0.01, 0.02, len(keys)).tolist()}
        out[name]["test"]["reject_for_1pct_error"] = rng.uniform(5, 15, len(keys)).tolist()
    return out


def test_results_table_rows_without_validation_digits_and_with_mse():
    """USPS rows: a dash for the val error, the database named, the MSE shown for mse rows only,
    and the paper's own figures beside the USPS rows; the reading says how their test digits were drawn."""
    from pipeline import ROOT

    from lecun1989.pipeline.schema import load_params
    from lecun1989.reporting import results_table, statistics

    params = load_params(ROOT / "params.yaml")
    runs = synthetic_runs(params)
    pairs = statistics.paired_all(params, runs)
    rows = {line.split(" | ")[0][2:]: line.split(" | ") for line in results_table.table(params, runs, pairs).splitlines()[2:]}
    header = results_table.table(params, runs, pairs).splitlines()[0].split(" | ")  # the full table, metrics/results.md
    col = {name: header.index(name) for name in ("database", "val error %", "MSE train / test", "paper 1989")}
    assert rows["lecun1989_usps"][col["database"]] == "USPS" and rows["lecun1989"][col["database"]] == "MNIST"
    assert rows["lecun1989_usps"][col["val error %"]] == "—" and rows["lecun1989"][col["val error %"]] != "—"
    mse = np.mean(runs["lecun1989_usps"]["train"]["loss"])
    assert rows["lecun1989_usps"][col["MSE train / test"]].startswith(f"{mse:.1e} / ")
    assert rows["change4_usps"][col["MSE train / test"]] == "—"  # softmax cross-entropy: no MSE
    assert "train 0.14" in rows["lecun1989_paper_usps"][col["paper 1989"]]
    assert set(pairs) >= {"lecun1989_paper_usps-lecun1989_usps", "change4_usps-lecun1989_usps"}
    assert not any(key.startswith("lecun1989_usps-") for key in pairs)  # the first USPS row has no MNIST baseline
    text = reading.block(pairs, notes=results_table.split_notes(params))
    assert "**change4_usps** against lecun1989_usps (USPS resplits):" in text
    readme = results_table.table(params, runs, pairs, leave_out=results_table.README_LEAVES_OUT).splitlines()[0]
    assert "per-draw means" in header and "per-draw means" not in readme and "MSE train / test" in readme
