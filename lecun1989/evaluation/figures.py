"""Figures as PNG bytes that are a pure function of their data (no software version, no date), so
that an image output of a stage re-hashes identically on a forced rerun and dvc.lock stays put."""

import io
import textwrap

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
    if shown < m:
        title += f" (first {shown} of {m} shown)"
    # Cells of 0.9 x 1.05 inches, centred in a figure at least 6 inches wide, so that the title of a
    # grid of 0 or 1 digits fits; the title is wrapped to the width (~14 characters of 9 pt per inch).
    cell_w, cell_h = 0.9, 1.05
    width = max(cell_w * ncols, 6.0)
    lines = textwrap.wrap(title, width=int(width * 14)) or [""]
    head = 0.12 + 0.17 * len(lines)
    height = cell_h * nrows + head
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, height), squeeze=False)
    side = (width - cell_w * ncols) / 2 / width + 0.004
    fig.subplots_adjust(left=side, right=1 - side, bottom=0.05 / height, top=1 - (head + 0.2) / height, wspace=0.1, hspace=0.3)
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
    fig.suptitle("\n".join(lines), fontsize=9, y=1 - 0.06 / height, va="top")
    return png_bytes(fig)
