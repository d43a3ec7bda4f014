"""Stage 3, train: every run of one variant, batch-1 updates in the fixed order of the data.

A run is one (subset draw, initialisation seed) pair: each draw of the variant's dataset times each of
its n_seeds seeds (seed, seed+1, ...), draw-major. Runs train side by side, one thread per CPU core.

Reads params: variants.VARIANT (every key) and datasets.<its dataset>, from params.yaml.
Reads: PREPARED_DIR (the preprocess stage's folder of the variant's dataset: draw_<draw>/ for each
draw, checked against its manifest).
Writes: MODEL (Flax msgpack of the parameters of every run, stacked on a leading axis in run order,
and what they were trained from: variant, params and prepared data; training/checkpoint.py) and CURVES_DIR, a DVCLive folder with the learning curves: after every epoch (DVCLive's `step` is
the epoch, 1..epochs) the train, val and test loss and error % of every run and their mean, min and
max over runs, as plots/metrics/{runs/d<draw>_s<seed>,mean,min,max}/{train,val,test}_{loss,error}.tsv,
and the last epoch's values in metrics.json. DVCLive runs with save_dvc_exp=False and dvcyaml=None:
it never edits dvc.yaml nor saves an experiment; dvc.yaml declares the folder and its plots.
Refuses (before any work) an output path that holds anything but its own kind of output or that
dvc.yaml does not declare for train@VARIANT, prepared data other than dvc.lock records, and a run
whose final train error is near chance (training did not learn). MODEL and CURVES_DIR are replaced
together, only when training succeeds: a failed run leaves both as they were.
Progress: one line per epoch on stderr (a progress bar when stderr is a terminal and CI is
unset); --quiet prints nothing.
"""

import argparse
import logging
import time
from pathlib import Path

from lecun1989.data.variant_runs import variant_runs
from lecun1989.pipeline.errors import run_stage


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("variant", help="a key of variants: in params.yaml, e.g. lecun1989")
    parser.add_argument("prepared_dir", help="the preprocess stage's folder of the variant's dataset, e.g. data/prepared/zip1989")
    parser.add_argument("model", help="output model file, e.g. models/lecun1989.msgpack")
    parser.add_argument("curves_dir", help="output DVCLive folder of learning curves, e.g. metrics/curves/lecun1989")
    parser.add_argument("--params", default="params.yaml", help="the params file (default params.yaml)")
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    args = parser.parse_args(argv)
    if args.quiet:
        logging.getLogger("lecun1989").setLevel(logging.WARNING)

    runs = variant_runs(args.variant, args.params)
    # Imported only now, so that a bad params.yaml is refused in a fraction of a second.
    from lecun1989 import runtime
    from lecun1989.data.variant_runs import load_splits, trained_on
    from lecun1989.evaluation import curves
    from lecun1989.evaluation.epoch_scores import train_and_score
    from lecun1989.pipeline import declared, output_guard
    from lecun1989.pipeline.atomic import staged
    from lecun1989.training import checkpoint, distributed
    from lecun1989.training.epoch_checks import check_finite, check_learned
    from lecun1989.training.progress import Progress
    from lecun1989.training.runs import Trainer

    distributed.initialize_from_env()  # several processes when JAX_COORDINATOR_ADDRESS is set (distributed.py)
    runtime.configure()
    output_guard.check({args.model: checkpoint.KIND, args.curves_dir: curves.KIND}, inputs=[args.prepared_dir])
    declared.check("train", args.variant, [args.model, args.curves_dir], runs.params)
    splits = load_splits(args.prepared_dir, runs)
    provenance = trained_on(runs, args.prepared_dir)
    X, Y = splits["train"]
    trainer = Trainer(runs.variant, len(Y[0]), runs.seeds, runtime.engine(), name=args.variant)
    state, epochs = trainer.init(), runs.variant.epochs
    progress = Progress(args.variant, epochs, len(runs.runs), args.quiet or not distributed.is_writer())
    start = time.perf_counter()
    # The curves and the model are written to scratch places that replace both outputs together
    # when training succeeds: a diverged, unlearned, killed or out-of-space run changes neither.
    with (staged if distributed.is_writer() else distributed.discarded)(files=[args.model], folders=[args.curves_dir]) as scratch:
        live = curves.open_live(scratch[Path(args.curves_dir)])
        try:
            for epoch in range(1, epochs + 1):
                state, scores = train_and_score(trainer, state, epoch - 1, X, Y, splits)
                check_finite([*trainer.weights(state), *(s["loss"] for s in scores.values())], args.variant, runs.labels, epoch)
                curves.log_epoch(live, epoch, scores, runs.labels)
                progress.epoch(epoch, scores, time.perf_counter() - start)
        finally:
            progress.close()
        check_learned(scores["train"]["error"], args.variant, runs.labels, epochs)
        checkpoint.save(scratch[Path(args.model)], trainer.params(state), trainer.description, provenance)


if __name__ == "__main__":
    run_stage(main)
