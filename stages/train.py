"""Stage 3, train: all seeds of one variant, batch-1 updates in the fixed order of the data.

Reads params: variants.VARIANT (every key), from params.yaml.
Reads: PREPARED_DIR (the preprocess stage's folder, checked against its manifest).
Writes: MODEL (Flax msgpack of the parameters of every seed, stacked on a leading axis) and
CURVES_DIR, a DVCLive folder with the learning curves: after every epoch (DVCLive's `step` is the
epoch, 1..epochs) the train and test loss and error % of every seed and their mean, min and max
over seeds, as plots/metrics/{seed_<seed>,mean,min,max}/{train,test}_{loss,error}.tsv, and the
last epoch's values in metrics.json. DVCLive runs with save_dvc_exp=False and dvcyaml=None:
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
from lecun1989.pipeline.params import load_variant


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
    # Imported only now, so that a bad params.yaml is refused in a fraction of a second.
    import jax
    import jax.numpy as jnp

    from lecun1989.data import prepared
    from lecun1989.evaluation import curves
    from lecun1989.pipeline import guard
    from lecun1989.pipeline.atomic import staged
    from lecun1989.pipeline.progress import Progress
    from lecun1989.training import checkpoint
    from lecun1989.training.engine import Trainer
    from lecun1989.training.guards import check_finite, check_learned

    guard.check({args.model: checkpoint.KIND, args.curves_dir: curves.KIND}, inputs=[args.prepared_dir])
    data = prepared.load(args.prepared_dir)
    splits = {split: (jnp.asarray(d["x"]), jnp.asarray(d["y"].astype(np.int32))) for split, d in data.items()}
    X, Y = splits["train"]
    trainer = Trainer(variant, len(Y))
    seeds = trainer.seeds()
    state = trainer.init()

    progress = Progress(args.variant, variant.epochs, len(seeds), args.quiet)
    start = time.perf_counter()
    # The curves and the model are written to scratch places that replace both outputs together
    # when training succeeds: a diverged, unlearned, killed or out-of-space run changes neither.
    with staged(files=[args.model], folders=[args.curves_dir]) as scratch:
        live = curves.open_live(scratch[Path(args.curves_dir)])
        try:
            for epoch in range(1, variant.epochs + 1):
                state = trainer.train_epoch(state, epoch - 1, X, Y)
                scores = {split: trainer.score(state.params, x, y) for split, (x, y) in splits.items()}
                check_finite([*jax.tree.leaves(state.params), *(s["loss"] for s in scores.values())], args.variant, seeds, epoch)
                curves.log_epoch(live, epoch, scores, seeds)
                progress.epoch(epoch, scores, time.perf_counter() - start)
        finally:
            progress.close()
        check_learned(scores["train"]["error"], args.variant, seeds, variant.epochs)
        checkpoint.save(scratch[Path(args.model)], state.params)


if __name__ == "__main__":
    run_stage(main)
