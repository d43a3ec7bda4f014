"""The evaluate stage's files beyond its metrics: the confusion CSV, the error-versus-rejection CSV
and the picture of the misread digits, each as bytes. Runs are named by their label (d<draw>_s<seed>);
runs of different draws read different test digits, so labels are per run: (n_runs, n)."""

import numpy as np

from lecun1989.pipeline import output_guard

REJECT_TARGET_PCT = 1.0
REJECT_GRID_PCT = np.arange(0, 81) * 0.25  # 0, 0.25, ..., 20 % of the test digits

CONFUSION_HEADER = b"run,actual,predicted\n"
REJECT_HEADER = b"rejected_pct,"
KINDS = {  # what each evaluate output looks like, so that no other file is ever replaced by one
    "metrics": output_guard.json_with_key("a metrics file of the evaluate stage (JSON with n_seeds)", "n_seeds"),
    "per_run": output_guard.json_with_key("a per-run file of the evaluate stage (JSON with runs)", "runs"),
    "confusion": output_guard.file_starting("a confusion CSV of the evaluate stage", CONFUSION_HEADER),
    "reject_curve": output_guard.file_starting("a reject-curve CSV of the evaluate stage", REJECT_HEADER),
    "misread": output_guard.file_starting("a PNG image", b"\x89PNG\r\n\x1a\n"),
}


def confusion_csv(runs: list[str], predicted, labels) -> bytes:
    lines = [CONFUSION_HEADER.decode().strip()]
    for run, pred, true in zip(runs, predicted, labels):
        lines += [f"{run},{a},{p}" for a, p in zip(true, pred)]
    return ("\n".join(lines) + "\n").encode()


def reject_curve_csv(runs: list[str], errors) -> bytes:
    """errors: (n_runs, len(REJECT_GRID_PCT)) error % on the kept digits."""
    header = ["rejected_pct", "error_mean", "error_min", "error_max", *(f"error_{r}" for r in runs)]
    lines = [",".join(header)]
    for j, r in enumerate(REJECT_GRID_PCT):
        col = errors[:, j]
        values = [r, col.mean(), col.min(), col.max(), *col]
        lines.append(",".join(f"{v:.6g}" for v in values))
    return ("\n".join(lines) + "\n").encode()


def misread_png(variant_name, runs: list[str], x, labels, predicted) -> bytes:
    """The digits the first run misreads; runs, labels (n,) and predicted (n_runs, n) are the runs of
    one draw, which read the same digits x, so k/N counts how many of them misread each digit."""
    from lecun1989.evaluation import figures  # matplotlib: imported only when the picture is asked for

    wrong = predicted != labels[None]  # (n_runs, n)
    idx = np.flatnonzero(wrong[0])
    n_wrong = wrong.sum(axis=0)
    notes = [f"{n_wrong[i]}/{len(runs)}" for i in idx]
    title = (
        f"{variant_name}: the {len(idx)} of {len(labels)} test digits that run {runs[0]} misreads "
        f"(true\u2192predicted, k/{len(runs)}: runs of its draw misreading it)"
    )
    return figures.misread_digits(x[idx], labels[idx], predicted[0][idx], notes, title)


def evaluate(runs, splits: dict, outputs: dict, wanted: set, variant_name: str) -> tuple[dict, dict, dict]:
    """The evaluate stage's numbers from every run's outputs: (metrics, per-run values, {kind: bytes}
    for the wanted kinds among confusion, reject_curve and misread). splits: {split: (X, Y)} with one
    array per run; outputs: {split: (n_runs, n, 10)}."""
    from lecun1989.evaluation import scoring
    from lecun1989.evaluation.misreads import misread_indices

    metrics = {"n_runs": len(runs.runs), "n_draws": len(set(runs.draws)), "n_seeds": runs.variant.n_seeds}
    per_run, files = {"runs": [{"draw": d, "seed": s} for d, s in runs.runs]}, {}
    for split, (x, y) in splits.items():
        y = np.stack([np.asarray(labels) for labels in y])  # (n_runs, n)
        s = scoring.score(outputs[split], y, runs.variant.loss)
        metrics[split] = {
            "n": y.shape[1],
            "error_pct": scoring.spread(s["error"]),
            "error_pct_by_draw": scoring.by_draw(s["error"], runs.draws),
            "loss": scoring.spread(s["loss"]),
        }
        per_run[split] = {"error_pct": s["error"].tolist(), "misses": s["misses"].tolist(), "loss": s["loss"].tolist()}
        if split != "test":
            continue
        reject = np.array([scoring.reject_pct(o, t, REJECT_TARGET_PCT) for o, t in zip(s["outputs"], y)])
        metrics[split]["reject_for_1pct_error"] = scoring.spread(reject)
        per_run[split]["reject_for_1pct_error"] = reject.tolist()
        per_run[split]["misread"] = misread_indices(s["outputs"], y)
        predicted = scoring.predictions(s["outputs"])
        if "confusion" in wanted:
            files["confusion"] = confusion_csv(runs.labels, predicted, y)
        if "reject_curve" in wanted:
            curve = np.stack([scoring.error_at_reject(o, t, REJECT_GRID_PCT) for o, t in zip(s["outputs"], y)])
            files["reject_curve"] = reject_curve_csv(runs.labels, curve)
        if "misread" in wanted:
            first = [i for i, d in enumerate(runs.draws) if d == runs.draws[0]]
            files["misread"] = misread_png(variant_name, [runs.labels[i] for i in first], np.asarray(x[0]), y[0], predicted[first])
    return metrics, per_run, files
