"""Stage 4, evaluate: final loss, error, exact miss counts and the paper's reject operating point of
every seed of one variant, its confusion matrix, error-versus-rejection curve and misread digits.

Reads params: variants.VARIANT, from params.yaml.
Reads: PREPARED_DIR and MODEL (the train stage's file).
Writes: METRICS (JSON, the numbers `dvc metrics show` tabulates): mean, std, min and max over
seeds of the train/test error % and loss, and of test.reject_for_1pct_error: the smallest share
(%) of test digits that must be rejected, lowest confidence margin (top-1 minus top-2 output)
first, for the error on the digits kept to be at most 1%.
PER_SEED (JSON): every seed's loss, error %, misses and reject_for_1pct_error.
--confusion CSV: seed,actual,predicted for every test digit and every seed (the plot pools seeds).
--reject-curve CSV: rejected_pct,error_mean,error_min,error_max,error_seed_<seed>...: the error %
on the kept test digits when 0..20% are rejected, lowest margin first.
--misread PNG: the test digits the first seed misreads, captioned true->predicted and k/N, the
number of the N seeds that misread the digit too.
Every output is replaced only if it holds an output of its own kind (refused before any work), and
all of them are replaced together when the stage succeeds.
"""

import argparse
from pathlib import Path

import numpy as np

from lecun1989.pipeline.errors import run_stage
from lecun1989.pipeline.params import load_variant


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("variant", help="a key of variants: in params.yaml, e.g. lecun1989")
    parser.add_argument("prepared_dir", help="the preprocess stage's folder, e.g. data/prepared")
    parser.add_argument("model", help="the train stage's model file, e.g. models/lecun1989.msgpack")
    parser.add_argument("metrics", help="output metrics file, e.g. metrics/lecun1989.json")
    parser.add_argument("per_seed", help="output per-seed file, e.g. metrics/per_seed/lecun1989.json")
    parser.add_argument("--confusion", help="output confusion CSV, e.g. metrics/confusion/lecun1989.csv")
    parser.add_argument("--reject-curve", help="output error-versus-rejection CSV, e.g. metrics/reject/lecun1989.csv")
    parser.add_argument("--misread", help="output PNG of the misread test digits, e.g. metrics/misread/lecun1989.png")
    parser.add_argument("--params", default="params.yaml", help="the params file (default params.yaml)")
    args = parser.parse_args(argv)

    variant = load_variant(args.variant, args.params)
    # Imported only now, so that a bad params.yaml is refused in a fraction of a second.
    import jax

    from lecun1989.data import prepared
    from lecun1989.evaluation import scoring
    from lecun1989.evaluation.outputs import KINDS, REJECT_GRID_PCT, REJECT_TARGET_PCT, confusion_csv, misread_png, reject_curve_csv
    from lecun1989.pipeline import guard
    from lecun1989.pipeline.atomic import staged, write_bytes, write_json
    from lecun1989.training import checkpoint
    from lecun1989.training.engine import Trainer

    paths = {kind: getattr(args, kind) for kind in KINDS if getattr(args, kind)}
    guard.check({path: KINDS[kind] for kind, path in paths.items()}, inputs=[args.prepared_dir, args.model])
    out = {}  # output kind -> bytes, all written together at the end
    data = prepared.load(args.prepared_dir)
    trainer = Trainer(variant, len(data["train"]["y"]))
    params = checkpoint.load(args.model, jax.eval_shape(trainer.init).params)

    seeds = trainer.seeds()
    metrics, per_seed = {"n_seeds": len(seeds)}, {"seeds": seeds}
    for split, d in data.items():
        y = d["y"].astype(np.int32)
        s = trainer.score(params, d["x"], y)
        missed, errors = s["misses"], s["error"]
        metrics[split] = {
            "n": len(y),
            "error_pct": scoring.spread(errors),
            "loss": scoring.spread(s["loss"]),
        }
        per_seed[split] = {"error_pct": errors.tolist(), "misses": missed.tolist(), "loss": s["loss"].tolist()}
        if split == "test":
            reject = scoring.reject_pct(s["outputs"], y, REJECT_TARGET_PCT)
            metrics[split]["reject_for_1pct_error"] = scoring.spread(reject)
            per_seed[split]["reject_for_1pct_error"] = reject.tolist()
            predicted = scoring.predictions(s["outputs"])
            if args.confusion:
                out["confusion"] = confusion_csv(seeds, predicted, y)
            if args.reject_curve:
                curve = scoring.error_at_reject(s["outputs"], y, REJECT_GRID_PCT)
                out["reject_curve"] = reject_curve_csv(seeds, curve)
            if args.misread:
                out["misread"] = misread_png(args.variant, seeds, d["x"], y, predicted)
    with staged(files=paths.values()) as scratch:
        for kind, path in paths.items():
            if kind in out:
                write_bytes(scratch[Path(path)], out[kind])
        write_json(scratch[Path(args.per_seed)], per_seed)
        write_json(scratch[Path(args.metrics)], metrics)
    t = metrics["test"]
    print(
        f"evaluate {args.variant}: test error {t['error_pct']['mean']:.2f}% +- {t['error_pct']['std']:.2f}, "
        f"reject {t['reject_for_1pct_error']['mean']:.2f}% for 1% error, over {len(seeds)} seeds"
    )


if __name__ == "__main__":
    run_stage(main)
