"""Stage 4, evaluate: final loss, error and exact miss counts of every seed of one variant.

Reads params: variants.VARIANT, from params.yaml.
Reads: PREPARED_DIR and MODEL (the train stage's file).
Writes: METRICS (JSON, the numbers `dvc metrics show` tabulates): mean, std, min and max over
seeds of the train/test error % and loss; PER_SEED (JSON): every seed's loss, error % and misses.
"""

import argparse

from errors import run_stage
from params import load_variant


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("variant", help="a key of variants: in params.yaml, e.g. lecun1989")
    parser.add_argument("prepared_dir", help="the preprocess stage's folder, e.g. data/prepared")
    parser.add_argument("model", help="the train stage's model file, e.g. models/lecun1989.msgpack")
    parser.add_argument("metrics", help="output metrics file, e.g. metrics/lecun1989.json")
    parser.add_argument("per_seed", help="output per-seed file, e.g. metrics/per_seed/lecun1989.json")
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args(argv)

    variant = load_variant(args.variant, args.params)
    # Imported only now, so that a bad params.yaml is refused in a fraction of a second.
    import jax
    import numpy as np

    import checkpoint
    import prepared
    import scoring
    from atomic import write_json
    from engine import Trainer

    data = prepared.load(args.prepared_dir)
    trainer = Trainer(variant, len(data["train"]["y"]))
    params = checkpoint.load(args.model, jax.eval_shape(trainer.init).params)

    seeds = trainer.seeds()
    metrics, per_seed = {"n_seeds": len(seeds)}, {"seeds": seeds}
    for split, d in data.items():
        y = d["y"].astype(np.int32)
        s = trainer.score(params, d["x"], y)
        missed = scoring.misses(s["outputs"], y)
        errors = scoring.error_pct(missed, len(y))
        metrics[split] = {
            "n": len(y),
            "error": scoring.spread(errors),
            "loss": scoring.spread(s["loss"]),
        }
        per_seed[split] = {"error": errors.tolist(), "misses": missed.tolist(), "loss": s["loss"].tolist()}
    write_json(args.per_seed, per_seed)
    write_json(args.metrics, metrics)
    print(f"evaluate {args.variant}: test error {metrics['test']['error']['mean']:.2f}% +- {metrics['test']['error']['std']:.2f} over {len(seeds)} seeds")


if __name__ == "__main__":
    run_stage(main)
