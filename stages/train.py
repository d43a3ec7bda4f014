"""Stage 3, train: all seeds of one variant, batch-1 updates in the fixed order of the data.

Reads params: variants.VARIANT (every key), from params.yaml.
Reads: PREPARED_DIR (the preprocess stage's folder, checked against its manifest).
Writes: MODEL (Flax msgpack of the parameters of every seed, stacked on a leading axis) and
HISTORY (JSON: train and test loss and error of every seed after every epoch).
"""

import argparse
import sys
import time

import numpy as np

from errors import DivergenceError, run_stage
from params import load_variant


def check_finite(arrays: list, variant_name: str, seeds: list[int], epoch: int) -> None:
    """Stop at the first seed whose parameters or losses (leading axis: seed) hold a NaN or inf."""
    finite = np.ones(len(seeds), bool)
    for array in arrays:
        finite &= np.isfinite(np.asarray(array)).reshape(len(seeds), -1).all(axis=1)
    for seed, ok in zip(seeds, finite):
        if not ok:
            raise DivergenceError(
                f"variant {variant_name}, seed {seed}, epoch {epoch}: loss or parameters became NaN/inf "
                "(learning rate too high?); no model or metrics were written"
            )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("variant", help="a key of variants: in params.yaml, e.g. lecun1989")
    parser.add_argument("prepared_dir", help="the preprocess stage's folder, e.g. data/prepared")
    parser.add_argument("model", help="output model file, e.g. models/lecun1989.msgpack")
    parser.add_argument("history", help="output per-epoch history, e.g. metrics/history/lecun1989.json")
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args(argv)

    variant = load_variant(args.variant, args.params)
    # Imported only now, so that a bad params.yaml is refused in a fraction of a second.
    import jax
    import jax.numpy as jnp

    import checkpoint
    import prepared
    import scoring
    from atomic import write_json
    from engine import Trainer

    data = prepared.load(args.prepared_dir)
    splits = {split: (jnp.asarray(d["x"]), d["y"].astype(np.int32)) for split, d in data.items()}
    X, Y = splits["train"]
    trainer = Trainer(variant, len(Y))
    seeds = trainer.seeds()
    state = trainer.init()

    history = []
    start = time.perf_counter()
    for epoch in range(1, variant.epochs + 1):
        state = trainer.train_epoch(state, epoch - 1, X, jnp.asarray(Y))
        scores = {}
        for split, (x, y) in splits.items():
            s = trainer.score(state.params, x, y)
            scores[split] = {"loss": s["loss"], "error": scoring.error_pct(scoring.misses(s["outputs"], y), len(y))}
        check_finite([*jax.tree.leaves(state.params), *(s["loss"] for s in scores.values())], args.variant, seeds, epoch)
        for i, seed in enumerate(seeds):
            row = {"epoch": epoch, "seed": seed}
            for split, s in scores.items():
                row[f"{split}_loss"] = float(s["loss"][i])
                row[f"{split}_error"] = float(s["error"][i])
            history.append(row)
        elapsed = time.perf_counter() - start
        eta = elapsed / epoch * (variant.epochs - epoch)
        print(
            f"{args.variant} epoch {epoch}/{variant.epochs}: train loss {scores['train']['loss'].mean():.4g} "
            f"error {scores['train']['error'].mean():.2f}% | test loss {scores['test']['loss'].mean():.4g} "
            f"error {scores['test']['error'].mean():.2f}% (mean of {len(seeds)} seeds) | {elapsed:.0f}s, eta {eta:.0f}s",
            file=sys.stderr,
            flush=True,
        )

    checkpoint.save(args.model, state.params)
    write_json(args.history, history)


if __name__ == "__main__":
    run_stage(main)
