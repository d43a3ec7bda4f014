"""Figures as PNG bytes that are a pure function of their data (no software version, no date), so
that an image output of a stage re-hashes identically on a forced rerun and dvc.lock stays put."""

import io

import matplotlib

matplotlib.use("Agg")  # no display; must precede pyplot
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

DPI = 100
PNG_METADATA = {"Software": None}  # matplotlib writes its version here by default; PNG has no date


def png_bytes(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata=PNG_METADATA)
    plt.close(fig)
    return buf.getvalue()


def misread_digits(images, labels, predicted, notes=None, title: str = "", ncols: int = 12, max_digits: int = 144) -> bytes:
    """A grid of misread digits, each captioned `true->predicted` (and its note), like the paper's
    figure of the misclassified test digits. images (m, 16, 16) in [-1, 1], ink at +1."""
    images = np.asarray(images)
    m = len(images)
    shown = min(m, max_digits)
    ncols = max(1, min(ncols, shown))
    nrows = max(1, -(-shown // ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(0.9 * ncols, 1.05 * nrows + 0.6), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if i >= shown:
            continue
        ax.imshow(images[i], cmap="gray_r", vmin=-1, vmax=1, interpolation="nearest")
        caption = f"{labels[i]}\u2192{predicted[i]}"
        if notes is not None:
            caption += f" {notes[i]}"
        ax.set_title(caption, fontsize=7, pad=2)
    if m == 0:
        axes.flat[0].text(0.5, 0.5, "no misread digits", ha="center", va="center", fontsize=8)
    if shown < m:
        title += f" (first {shown} of {m} shown)"
    fig.suptitle(title, fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.45 / fig.get_figheight()), pad=0.3, h_pad=0.2, w_pad=0.2)
    return png_bytes(fig)
