"""Stage 4, evaluate: final loss, error, exact miss counts and the paper's reject operating point of
every run of one variant (each subset draw times each seed), its confusion matrix,
error-versus-rejection curve and misread digits.

Reads params: variants.VARIANT and datasets.<its dataset>, from params.yaml.
Reads: PREPARED_DIR (draw_<draw>/ of the variant's dataset) and MODEL (the train stage's file).
Writes: METRICS (JSON, the numbers `dvc metrics show` tabulates): n_runs, n_draws, n_seeds, and for
each split (train, val, test) the digit count n, mean, std, min and max over runs of the error % and
loss, and the mean error % of each draw (error_pct_by_draw.draw_<draw>); for test also
reject_for_1pct_error: the smallest share (%) of test digits that must be rejected, lowest confidence
margin (top-1 minus top-2 output) first, for the error on the digits kept to be at most 1%; and
engine: which engine trained the model and which evaluated it, with what each was built for.
PER_RUN (JSON): every run's draw, seed, loss, error %, misses and reject_for_1pct_error, and for test
misread: the sorted positions of the test digits the run misreads.
--confusion CSV: run,actual,predicted for every test digit and every run (the plot pools runs).
--reject-curve CSV: rejected_pct,error_mean,error_min,error_max,error_<run>...: the error % on the
kept test digits when 0..20% are rejected, lowest margin first.
--misread PNG: the test digits the first run misreads, captioned true->predicted and k/N, the
number of the N runs of its draw that misread the digit too.
Every output is replaced only if it holds an output of its own kind and dvc.yaml declares it for
evaluate@VARIANT (refused before any work), and all of them are replaced together when the stage
succeeds. The model is refused unless it was trained from this variant's params and this prepared
data (training/checkpoint.py), and both unless they are what dvc.lock records.
"""

import argparse
from pathlib import Path

from lecun1989.data.variant_runs import variant_runs
from lecun1989.pipeline.errors import run_stage


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

    runs = variant_runs(args.variant, args.params)
    # Imported only now, so that a bad params.yaml is refused in a fraction of a second.
    from lecun1989 import runtime
    from lecun1989.data.variant_runs import load_splits, trained_on
    from lecun1989.evaluation.outputs import KINDS, evaluate
    from lecun1989.evaluation.predict import Predictor
    from lecun1989.pipeline import declared, output_guard
    from lecun1989.pipeline.atomic import staged, write_bytes, write_json
    from lecun1989.training import checkpoint

    runtime.configure()
    paths = {kind: getattr(args, kind) for kind in KINDS if getattr(args, kind)}
    output_guard.check({path: KINDS[kind] for kind, path in paths.items()}, inputs=[args.prepared_dir, args.model])
    declared.check("evaluate", args.variant, paths.values(), runs.params)
    splits = load_splits(args.prepared_dir, runs)
    predictor = Predictor(runs.variant, runtime.engine(), name=args.variant)
    provenance = trained_on(runs, args.prepared_dir)
    params, trained_by = checkpoint.load(args.model, runs.variant, len(runs.runs), provenance)
    outputs = {split: predictor.outputs(params, x) for split, (x, _) in splits.items()}
    metrics, per_run, files = evaluate(runs, splits, outputs, set(paths), args.variant)
    metrics["engine"] = {"train": trained_by, "evaluate": predictor.description}
    with staged(files=paths.values()) as scratch:  # every output replaced together
        for kind, data in files.items():
            write_bytes(scratch[Path(paths[kind])], data)
        write_json(scratch[Path(args.per_run)], per_run)
        write_json(scratch[Path(args.metrics)], metrics)
    t = metrics["test"]
    print(
        f"evaluate {args.variant}: test error {t['error_pct']['mean']:.2f}% +- {t['error_pct']['std']:.2f}, "
        f"reject {t['reject_for_1pct_error']['mean']:.2f}% for 1% error, over {len(runs.runs)} runs "
        f"({len(set(runs.draws))} draws x {runs.variant.n_seeds} seeds)"
    )


if __name__ == "__main__":
    run_stage(main)
