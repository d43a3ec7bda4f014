"""Stage 3, train: all seeds of one variant, batch-1 updates in the fixed order of the data.

Reads params: variants.VARIANT (every key), from params.yaml.
Reads: PREPARED_DIR (the preprocess stage's folder, checked against its manifest).
Writes: MODEL (Flax msgpack of the parameters of every seed, stacked on a leading axis) and
CURVES_DIR, a DVCLive folder with the learning curves: after every epoch (DVCLive's `step` is the
epoch, 1..epochs) the train and test loss and error % of every seed and their mean, min and max
over seeds, as plots/metrics/{seed_<seed>,mean,min,max}/{train,test}_{loss,error}.tsv, and the
last epoch's values in metrics.json. DVCLive runs with save_dvc_exp=False and dvcyaml=None:
it never edits dvc.yaml nor saves an experiment; dvc.yaml declares the folder and its plots.
Progress: one line per epoch on stderr (a progress bar when stderr is a terminal and CI is
unset); --quiet prints nothing.
"""

import argparse
import os
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

import checkpoint
import prepared
import scoring
from engine import Trainer
from errors import DivergenceError, run_stage
from params import load_variant


def check_finite(state, losses: dict, variant_name: str, seeds: list[int], epoch: int) -> None:
    finite = np.ones(len(seeds), bool)
    for array in [*jax.tree.leaves(state.params), *losses.values()]:
        finite &= np.isfinite(np.asarray(array)).reshape(len(seeds), -1).all(axis=1)
    for seed, ok in zip(seeds, finite):
        if not ok:
            raise DivergenceError(
                f"variant {variant_name}, seed {seed}, epoch {epoch}: loss or parameters became NaN/inf "
                "(learning rate too high?); no model or metrics were written"
            )


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


CURVE_STATS = {"mean": np.mean, "min": np.min, "max": np.max}


def log_epoch(live, epoch: int, scores: dict, seeds: list[int]) -> None:
    """One DVCLive step per epoch: every seed's curve, and mean/min/max over the seeds."""
    live.step = epoch
    for split, s in scores.items():
        for quantity in ("loss", "error"):
            values = np.asarray(s[quantity], np.float64)
            for seed, value in zip(seeds, values):
                live.log_metric(f"seed_{seed}/{split}_{quantity}", float(value))
            for stat, fn in CURVE_STATS.items():
                live.log_metric(f"{stat}/{split}_{quantity}", float(fn(values)))
    live.next_step()


def _terminal_width(stream) -> int:
    """Columns of the terminal behind stream; 0 when it is no terminal (or one of no size)."""
    try:
        return os.get_terminal_size(stream.fileno()).columns if stream.isatty() else 0
    except (AttributeError, OSError, ValueError):
        return 0


class Progress:
    """A tqdm bar on an interactive stderr, else one plain line per epoch; nothing when quiet."""

    def __init__(self, variant: str, epochs: int, n_seeds: int, quiet: bool, stream=None):
        self.variant, self.epochs, self.n_seeds, self.quiet = variant, epochs, n_seeds, quiet
        self.stream = stream or sys.stderr
        self.bar = None
        if not quiet and _terminal_width(self.stream) > 0 and not os.environ.get("CI"):
            from tqdm import tqdm

            self.bar = tqdm(total=epochs, desc=variant, unit="epoch", file=self.stream, dynamic_ncols=True)

    def epoch(self, epoch: int, scores: dict, elapsed: float) -> None:
        if self.quiet:
            return
        tr, te = scores["train"], scores["test"]
        numbers = (
            f"train loss {tr['loss'].mean():.4g} error {tr['error'].mean():.2f}% | "
            f"test loss {te['loss'].mean():.4g} error {te['error'].mean():.2f}%"
        )
        if self.bar is not None:
            self.bar.set_postfix_str(numbers, refresh=False)
            self.bar.update(1)
            return
        eta = elapsed / epoch * (self.epochs - epoch)
        print(
            f"{self.variant} epoch {epoch}/{self.epochs}: {numbers} (mean of {self.n_seeds} seeds) | "
            f"elapsed {elapsed:.0f}s, eta {eta:.0f}s",
            file=self.stream,
            flush=True,
        )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("variant", help="a key of variants: in params.yaml, e.g. lecun1989")
    parser.add_argument("prepared_dir", help="the preprocess stage's folder, e.g. data/prepared")
    parser.add_argument("model", help="output model file, e.g. models/lecun1989.msgpack")
    parser.add_argument("curves_dir", help="output DVCLive folder of learning curves, e.g. metrics/curves/lecun1989")
    parser.add_argument("--params", default="params.yaml", help="the params file (default params.yaml)")
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    args = parser.parse_args(argv)

    variant = load_variant(args.variant, args.params)
    data = prepared.load(args.prepared_dir)
    splits = {split: (jnp.asarray(d["x"]), d["y"].astype(np.int32)) for split, d in data.items()}
    X, Y = splits["train"]
    trainer = Trainer(variant, len(Y))
    seeds = trainer.seeds()
    state = trainer.init()

    live = open_live(args.curves_dir)
    progress = Progress(args.variant, variant.epochs, len(seeds), args.quiet)
    start = time.perf_counter()
    try:
        for epoch in range(1, variant.epochs + 1):
            state = trainer.train_epoch(state, epoch - 1, X, jnp.asarray(Y))
            scores = {}
            for split, (x, y) in splits.items():
                s = trainer.score(state.params, x, y)
                scores[split] = {"loss": s["loss"], "error": scoring.error_pct(scoring.misses(s["outputs"], y), len(y))}
            check_finite(state, {k: v["loss"] for k, v in scores.items()}, args.variant, seeds, epoch)
            log_epoch(live, epoch, scores, seeds)
            progress.epoch(epoch, scores, time.perf_counter() - start)
    finally:
        progress.close()
    live.end()
    checkpoint.save(args.model, state.params)

if __name__ == "__main__":
    run_stage(main)
