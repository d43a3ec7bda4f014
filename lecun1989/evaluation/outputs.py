"""The evaluate stage's files beyond its metrics: the confusion CSV, the error-versus-rejection CSV
and the picture of the misread digits, each as bytes."""

import numpy as np

from lecun1989.pipeline import guard

REJECT_TARGET_PCT = 1.0
REJECT_GRID_PCT = np.arange(0, 81) * 0.25  # 0, 0.25, ..., 20 % of the test digits

CONFUSION_HEADER = b"seed,actual,predicted\n"
REJECT_HEADER = b"rejected_pct,"
KINDS = {  # what each evaluate output looks like, so that no other file is ever replaced by one
    "metrics": guard.json_with_key("a metrics file of the evaluate stage (JSON with n_seeds)", "n_seeds"),
    "per_seed": guard.json_with_key("a per-seed file of the evaluate stage (JSON with seeds)", "seeds"),
    "confusion": guard.file_starting("a confusion CSV of the evaluate stage", CONFUSION_HEADER),
    "reject_curve": guard.file_starting("a reject-curve CSV of the evaluate stage", REJECT_HEADER),
    "misread": guard.file_starting("a PNG image", b"\x89PNG\r\n\x1a\n"),
}


def confusion_csv(seeds, predicted, labels) -> bytes:
    lines = [CONFUSION_HEADER.decode().strip()]
    for seed, pred in zip(seeds, predicted):
        lines += [f"{seed},{a},{p}" for a, p in zip(labels, pred)]
    return ("\n".join(lines) + "\n").encode()


def reject_curve_csv(seeds, errors) -> bytes:
    """errors: (n_seeds, len(REJECT_GRID_PCT)) error % on the kept digits."""
    header = ["rejected_pct", "error_mean", "error_min", "error_max", *(f"error_seed_{s}" for s in seeds)]
    lines = [",".join(header)]
    for j, r in enumerate(REJECT_GRID_PCT):
        col = errors[:, j]
        values = [r, col.mean(), col.min(), col.max(), *col]
        lines.append(",".join(f"{v:.6g}" for v in values))
    return ("\n".join(lines) + "\n").encode()


def misread_png(variant_name, seeds, x, labels, predicted) -> bytes:
    from lecun1989.evaluation import figures  # matplotlib: imported only when the picture is asked for

    wrong = predicted != labels[None]  # (n_seeds, n)
    idx = np.flatnonzero(wrong[0])
    n_wrong = wrong.sum(axis=0)
    notes = [f"{n_wrong[i]}/{len(seeds)}" for i in idx]
    title = (
        f"{variant_name}: the {len(idx)} of {len(labels)} test digits that seed {seeds[0]} misreads "
        f"(true\u2192predicted, k/{len(seeds)}: seeds misreading it)"
    )
    return figures.misread_digits(x[idx], labels[idx], predicted[0][idx], notes, title)
