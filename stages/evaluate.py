"""Stage 4, evaluate: final loss, error, exact miss counts and the paper's reject operating point of
every run of one variant (each subset draw times each seed), its confusion matrix,
error-versus-rejection curve and misread digits.

Reads params: variants.VARIANT and datasets.<its dataset>, from params.yaml.
Reads: PREPARED_DIR (draw_<draw>/ of the variant's dataset) and MODEL (the train stage's file).
Writes: METRICS (JSON, the numbers `dvc metrics show` tabulates): n_runs, n_draws, n_seeds, and for
each split (train, val, test) the digit count n, mean, std, min and max over runs of the error % and
loss, and the mean error % of each draw (error_pct_by_draw.draw_<draw>); for test also
reject_for_1pct_error: the smallest share (%) of test digits that must be rejected, lowest confidence
margin (top-1 minus top-2 output) first, for the error on the digits kept to be at most 1%.
PER_RUN (JSON): every run's draw, seed, loss, error %, misses and reject_for_1pct_error, and for test
misread: the sorted positions of the test digits the run misreads.
--confusion CSV: run,actual,predicted for every test digit and every run (the plot pools runs).
--reject-curve CSV: rejected_pct,error_mean,error_min,error_max,error_<run>...: the error % on the
kept test digits when 0..20% are rejected, lowest margin first.
--misread PNG: the test digits the first run misreads, captioned true->predicted and k/N, the
number of the N runs of its draw that misread the digit too.
Every output is replaced only if it holds an output of its own kind (refused before any work), and
all of them are replaced together when the stage succeeds.
"""

import argparse
from pathlib import Path

import numpy as np

from lecun1989.pipeline.errors import run_stage
from lecun1989.pipeline.params import load_for_variant


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("variant", help="a key of variants: in params.yaml, e.g. lecun1989")
    parser.add_argument("prepared_dir", help="the preprocess stage's folder of the variant's dataset, e.g. data/prepared/zip1989")
    parser.add_argument("model", help="the train stage's model file, e.g. models/lecun1989.msgpack")
    parser.add_argument("metrics", help="output metrics file, e.g. metrics/lecun1989.json")
    parser.add_argument("per_run", help="output per-run file, e.g. metrics/per_run/lecun1989.json")
    parser.add_argument("--confusion", help="output confusion CSV, e.g. metrics/confusion/lecun1989.csv")
    parser.add_argument("--reject-curve", help="output error-versus-rejection CSV, e.g. metrics/reject/lecun1989.csv")
    parser.add_argument("--misread", help="output PNG of the misread test digits, e.g. metrics/misread/lecun1989.png")
    parser.add_argument("--params", default="params.yaml", help="the params file (default params.yaml)")
    args = parser.parse_args(argv)

    params = load_for_variant(args.variant, args.params)
    variant, runs = params.variants[args.variant], params.runs(args.variant)
    # Imported only now, so that a bad params.yaml is refused in a fraction of a second.
    import jax

    from lecun1989.data import prepared
    from lecun1989.evaluation import scoring
    from lecun1989.evaluation.curves import run_label
    from lecun1989.evaluation.misreads import misread_indices
    from lecun1989.evaluation.outputs import KINDS, REJECT_GRID_PCT, REJECT_TARGET_PCT, confusion_csv, misread_png, reject_curve_csv
    from lecun1989.pipeline import guard
    from lecun1989.pipeline.atomic import staged, write_bytes, write_json
    from lecun1989.training import checkpoint
    from lecun1989.training.engine import Trainer

    paths = {kind: getattr(args, kind) for kind in KINDS if getattr(args, kind)}
    guard.check({path: KINDS[kind] for kind, path in paths.items()}, inputs=[args.prepared_dir, args.model])
    out = {}  # output kind -> bytes, all written together at the end
    draws = [d for d, _ in runs]
    data = {draw: prepared.load(prepared.draw_dir(args.prepared_dir, draw)) for draw in dict.fromkeys(draws)}
    trainer = Trainer(variant, len(data[draws[0]]["train"]["y"]), seeds=[seed for _, seed in runs])
    model = checkpoint.load(args.model, jax.eval_shape(trainer.init).params)

    labels = [run_label(d, s) for d, s in runs]
    metrics = {"n_runs": len(runs), "n_draws": len(data), "n_seeds": variant.n_seeds}
    per_run = {"runs": [{"draw": d, "seed": s} for d, s in runs]}
    for split in prepared.SPLITS:
        x = [data[d][split]["x"] for d in draws]
        y = np.stack([data[d][split]["y"].astype(np.int32) for d in draws])  # (n_runs, n)
        s = trainer.score(model, x, list(y))
        missed, errors = s["misses"], s["error"]
        metrics[split] = {
            "n": y.shape[1],
            "error_pct": scoring.spread(errors),
            "error_pct_by_draw": scoring.by_draw(errors, draws),
            "loss": scoring.spread(s["loss"]),
        }
        per_run[split] = {"error_pct": errors.tolist(), "misses": missed.tolist(), "loss": s["loss"].tolist()}
        if split == "test":
            reject = np.array([scoring.reject_pct(o, t, REJECT_TARGET_PCT) for o, t in zip(s["outputs"], y)])
            metrics[split]["reject_for_1pct_error"] = scoring.spread(reject)
            per_run[split]["reject_for_1pct_error"] = reject.tolist()
            per_run[split]["misread"] = misread_indices(s["outputs"], y)
            predicted = scoring.predictions(s["outputs"])
            if args.confusion:
                out["confusion"] = confusion_csv(labels, predicted, y)
            if args.reject_curve:
                curve = np.stack([scoring.error_at_reject(o, t, REJECT_GRID_PCT) for o, t in zip(s["outputs"], y)])
                out["reject_curve"] = reject_curve_csv(labels, curve)
            if args.misread:
                first = [i for i, d in enumerate(draws) if d == draws[0]]
                out["misread"] = misread_png(args.variant, [labels[i] for i in first], x[0], y[0], predicted[first])
    with staged(files=paths.values()) as scratch:
        for kind, path in paths.items():
            if kind in out:
                write_bytes(scratch[Path(path)], out[kind])
        write_json(scratch[Path(args.per_run)], per_run)
        write_json(scratch[Path(args.metrics)], metrics)
    t = metrics["test"]
    print(
        f"evaluate {args.variant}: test error {t['error_pct']['mean']:.2f}% +- {t['error_pct']['std']:.2f}, "
        f"reject {t['reject_for_1pct_error']['mean']:.2f}% for 1% error, over {len(runs)} runs ({len(data)} draws x {variant.n_seeds} seeds)"
    )


if __name__ == "__main__":
    run_stage(main)
