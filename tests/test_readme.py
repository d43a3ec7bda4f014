"""The README's results table is generated from metrics/, never typed: it must match them."""

import subprocess
import sys

from pipeline import ROOT


def test_readme_results_table_matches_committed_metrics():
    result = subprocess.run(
        [sys.executable, "-m", "lecun1989.reporting.results_table", "--check"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr + result.stdout
