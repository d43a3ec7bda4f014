"""The independent-runs check (lecun1989/reporting/independent_runs.py) on tiny made-up metrics
folders: a claim that holds, one that does not, and a second folder that is not independent."""

import json
import subprocess
import sys

import pipeline
import pytest
import yaml

from lecun1989.pipeline.errors import DataError
from lecun1989.reporting import independent_runs

N_TEST = 200


def write_folder(folder, runs, errors_by_variant):
    """metrics/per_run/<v>.json with the given (draw, seed) runs and test error % of each variant."""
    (folder / "per_run").mkdir(parents=True)
    for name, errors in errors_by_variant.items():
        per_run = {
            "runs": [{"draw": d, "seed": s} for d, s in runs],
            "test": {"error_pct": errors, "misses": [round(e * N_TEST / 100) for e in errors]},
        }
        (folder / "per_run" / f"{name}.json").write_text(json.dumps(per_run))


@pytest.fixture
def folders(tmp_path):
    params = pipeline.tiny_params(("lecun1989", "change4_relu_dropout"))  # change4 is compared with lecun1989
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    base = [4.0, 4.5, 3.5, 5.0]
    here, there = tmp_path / "here", tmp_path / "there"
    write_folder(
        here,
        [(42, 0), (42, 1), (43, 0), (43, 1)],
        {"lecun1989": base, "change4_relu_dropout": [b - 1.0 - 0.1 * i for i, b in enumerate(base)]},
    )
    write_folder(
        there,
        [(50, 5), (50, 6), (51, 5), (51, 6)],
        {"lecun1989": base, "change4_relu_dropout": [b + d for b, d in zip(base, (-0.5, 0.5, -0.5, 0.5))]},
    )
    return tmp_path, here, there


def args(tmp_path, here, there):
    return [str(there), "--metrics", str(here), "--params", str(tmp_path / "params.yaml"), "--out", str(tmp_path / "independent-runs.md")]


def test_a_claim_that_vanishes_on_other_draws_and_seeds_does_not_hold(folders):
    tmp_path, here, there = folders
    independent_runs.main(args(*folders))
    text = (tmp_path / "independent-runs.md").read_text()
    row = next(line for line in text.splitlines() if line.startswith("| change4_relu_dropout-lecun1989 |"))
    assert "lower by 1.15 points" in row and "no detectable difference" in row and row.endswith("| **no** |"), row
    assert "0 of 1 claims hold." in text and "draws 50, 51; seeds 5, 6" in text

    write_folder(tmp_path / "again", [(60, 7), (61, 7), (62, 7)], {"lecun1989": [4.0, 4.5, 3.5], "change4_relu_dropout": [2.9, 3.6, 2.4]})
    independent_runs.main(args(tmp_path, here, tmp_path / "again"))
    assert "1 of 1 claims hold." in (tmp_path / "independent-runs.md").read_text()


@pytest.mark.parametrize("field, runs", [("draw", [(42, 5), (42, 6), (51, 5), (51, 6)]), ("seed", [(50, 0), (50, 6), (51, 0), (51, 6)])])
def test_a_second_folder_sharing_draws_or_seeds_is_refused_before_writing(folders, field, runs):
    tmp_path, here, _ = folders
    write_folder(tmp_path / "overlap", runs, {"lecun1989": [4.0] * 4, "change4_relu_dropout": [3.0] * 4})
    with pytest.raises(DataError, match=f"share {field}s"):
        independent_runs.main(args(tmp_path, here, tmp_path / "overlap"))
    assert not (tmp_path / "independent-runs.md").exists()


def test_the_command_refuses_a_folder_without_per_run_files_in_one_line(folders):
    tmp_path, here, _ = folders
    result = subprocess.run(
        [sys.executable, "-m", "lecun1989.reporting.independent_runs", *args(tmp_path, here, tmp_path / "nowhere")],
        cwd=pipeline.ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1 and result.stderr.count("\n") == 1 and "nowhere/per_run/lecun1989.json is missing" in result.stderr, (
        result.stderr
    )
