"""Learning curves: DVCLive as a plain per-epoch logger (every seed, and mean/min/max over seeds)."""

import math

import numpy as np

from lecun1989.evaluation.scoring import rounded
from lecun1989.pipeline import output_guard

KIND = output_guard.folder_of("a DVCLive folder of learning curves (metrics.json, plots/)", lambda name: name in ("metrics.json", "plots"))


def open_live(curves_dir: str):
    """DVCLive as a plain logger into curves_dir: no dvc.yaml edits (dvcyaml=None), no experiment
    saved (save_dvc_exp=False; inside `dvc repro` / `dvc exp run` DVC owns experiments anyway), no
    report, no system monitor. Imported here: importing DVCLive imports DVC, which is slow."""
    from dvclive import Live
    from scmrepo.exceptions import SCMError

    class PipelineLive(Live):
        def _init_dvc(self):
            # DVCLive 3.49 looks up the git baseline and raises SCMError("Empty git repo") in a
            # repository with no commit yet (git init + dvc repro); there is nothing to link to then.
            try:
                super()._init_dvc()
            except SCMError:
                self._dvc_repo = None
                self._dvc_file = "dvc.yaml"

    return PipelineLive(dir=curves_dir, save_dvc_exp=False, dvcyaml=None, report=None, monitor_system=False)


CURVE_STATS = {"mean": lambda v: rounded(math.fsum(v) / len(v)), "min": np.min, "max": np.max}


def log_epoch(live, epoch: int, scores: dict, runs: list[str]) -> None:
    """One DVCLive step per epoch: every run's curve (runs/<label>/), and mean/min/max over the runs."""
    live.step = epoch
    for split, s in scores.items():
        for quantity in ("loss", "error"):
            values = np.asarray(s[quantity], np.float64)
            for run, value in zip(runs, values):
                live.log_metric(f"runs/{run}/{split}_{quantity}", float(value))
            for stat, fn in CURVE_STATS.items():
                live.log_metric(f"{stat}/{split}_{quantity}", float(fn(values)))
    live.next_step()
