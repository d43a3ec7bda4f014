"""Stage 3, train: every run of one variant, batch-1 updates in the fixed order of the data.

A run is one (subset draw, initialisation seed) pair: each draw of the variant's dataset times each of
its n_seeds seeds (seed, seed+1, ...), draw-major. Runs train side by side, one thread per CPU core.

Reads params: variants.VARIANT (every key) and datasets.<its dataset>, from params.yaml.
Reads: PREPARED_DIR (the preprocess stage's folder of the variant's dataset: draw_<draw>/ for each
draw, checked against its manifest).
Writes: MODEL (Flax msgpack of the parameters of every run, stacked on a leading axis in run order)
and CURVES_DIR, a DVCLive folder with the learning curves: after every epoch (DVCLive's `step` is
the epoch, 1..epochs) the train, val and test loss and error % of every run and their mean, min and
max over runs, as plots/metrics/{runs/d<draw>_s<seed>,mean,min,max}/{train,val,test}_{loss,error}.tsv,
and the last epoch's values in metrics.json. DVCLive runs with save_dvc_exp=False and dvcyaml=None:
it never edits dvc.yaml nor saves an experiment; dvc.yaml declares the folder and its plots.
Refuses (before any work) an output path that holds anything but its own kind of output, and a run
whose final train error is near chance (training did not learn). MODEL and CURVES_DIR are replaced
together, only when training succeeds: a failed run leaves both as they were.
Progress: one line per epoch on stderr (a progress bar when stderr is a terminal and CI is
unset); --quiet prints nothing.
"""

import argparse
import time
from pathlib import Path

import numpy as np

from lecun1989.pipeline.errors import run_stage
from lecun1989.pipeline.params import load_for_variant


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("variant", help="a key of variants: in params.yaml, e.g. lecun1989")
    parser.add_argument("prepared_dir", help="the preprocess stage's folder of the variant's dataset, e.g. data/prepared/zip1989")
    parser.add_argument("model", help="output model file, e.g. models/lecun1989.msgpack")
    parser.add_argument("curves_dir", help="output DVCLive folder of learning curves, e.g. metrics/curves/lecun1989")
    parser.add_argument("--params", default="params.yaml", help="the params file (default params.yaml)")
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    args = parser.parse_args(argv)

    params = load_for_variant(args.variant, args.params)
    variant, runs = params.variants[args.variant], params.runs(args.variant)
    # Imported only now, so that a bad params.yaml is refused in a fraction of a second.
    import jax
    import jax.numpy as jnp

    from lecun1989.data import prepared
    from lecun1989.evaluation import curves
    from lecun1989.pipeline import guard
    from lecun1989.pipeline.atomic import staged
    from lecun1989.pipeline.progress import Progress
    from lecun1989.training import checkpoint, distributed
    from lecun1989.training.engine import Trainer
    from lecun1989.training.guards import check_finite, check_learned

    distributed.initialize_from_env()  # several processes when JAX_COORDINATOR_ADDRESS is set (distributed.py)

    guard.check({args.model: checkpoint.KIND, args.curves_dir: curves.KIND}, inputs=[args.prepared_dir])
    data = {draw: prepared.load(prepared.draw_dir(args.prepared_dir, draw)) for draw in dict.fromkeys(d for d, _ in runs)}
    # One array per draw on the device; every run of a draw refers to it.
    arrays = {
        draw: {split: (jnp.asarray(s["x"]), jnp.asarray(s["y"].astype(np.int32))) for split, s in splits.items()}
        for draw, splits in data.items()
    }
    splits = {split: ([arrays[d][split][0] for d, _ in runs], [arrays[d][split][1] for d, _ in runs]) for split in prepared.SPLITS}
    X, Y = splits["train"]
    trainer = Trainer(variant, len(Y[0]), seeds=[seed for _, seed in runs])
    labels = [curves.run_label(d, s) for d, s in runs]
    state = trainer.init()

    progress = Progress(args.variant, variant.epochs, len(runs), args.quiet or not distributed.is_writer())
    start = time.perf_counter()
    # The curves and the model are written to scratch places that replace both outputs together
    # when training succeeds: a diverged, unlearned, killed or out-of-space run changes neither.
    with (staged if distributed.is_writer() else distributed.discarded)(files=[args.model], folders=[args.curves_dir]) as scratch:
        live = curves.open_live(scratch[Path(args.curves_dir)])
        try:
            for epoch in range(1, variant.epochs + 1):
                state = trainer.train_epoch(state, epoch - 1, X, Y)
                scores = {split: trainer.score(state.params, x, y) for split, (x, y) in splits.items()}
                check_finite([*jax.tree.leaves(state.params), *(s["loss"] for s in scores.values())], args.variant, labels, epoch)
                curves.log_epoch(live, epoch, scores, labels)
                progress.epoch(epoch, scores, time.perf_counter() - start)
        finally:
            progress.close()
        check_learned(scores["train"]["error"], args.variant, labels, variant.epochs)
        checkpoint.save(scratch[Path(args.model)], state.params)


if __name__ == "__main__":
    run_stage(main)
