"""Readable figures: the confusion figure's counts stand out from their cells (dark
cells get light text) at a readable size, and a misread-digits picture of 0 or 1 digits keeps
its whole title inside the image."""

import importlib.util

import numpy as np
import pytest
from matplotlib.colors import to_rgba
from pipeline import ROOT

from lecun1989.evaluation import figures, outputs

MIN_FONT_PT = 8
MIN_CONTRAST = 4.5  # WCAG's minimum for normal text


def luminance(rgba) -> float:
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgba[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a, b) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@pytest.fixture
def drawn(monkeypatch):
    """The matplotlib figures that would become PNG bytes, kept open for inspection."""
    kept = []

    def keep(fig):
        fig.canvas.draw()
        kept.append(fig)
        return b"\x89PNG"

    monkeypatch.setattr(figures, "png_bytes", keep)
    return kept


def test_confusion_counts_are_readable_on_every_cell(drawn):
    spec = importlib.util.spec_from_file_location("readme_figures", ROOT / "tools/readme_figures.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    variants = ["lecun1989", "change4_relu_dropout"]
    tool.confusion(ROOT / "metrics", variants)
    (fig,) = drawn
    checked = 0
    for ax in fig.axes:
        if not ax.images:
            continue
        image = ax.images[0]
        values = np.asarray(image.get_array())
        for text in ax.texts:
            col, row = (round(v) for v in text.get_position())
            cell = image.cmap(image.norm(values[row, col]))
            assert text.get_fontsize() >= MIN_FONT_PT, f"{text.get_text()} at {text.get_fontsize()} pt"
            readable = contrast(cell, to_rgba(text.get_color())) >= MIN_CONTRAST
            assert readable, f"count {text.get_text()} at ({row}, {col}) is hard to read on its cell"
            checked += 1
    assert checked > 50


@pytest.mark.parametrize("n_misread", [0, 1, 2])
def test_misread_title_fits_in_the_image(drawn, n_misread):
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (200, 16, 16)).astype(np.float32)
    y = np.arange(200) % 10
    predicted = np.stack([y, y])
    predicted[:, :n_misread] = (y[:n_misread] + 1) % 10
    outputs.misread_png("change4_relu_dropout", [0, 1], x, y, predicted)
    (fig,) = drawn
    renderer = fig.canvas.get_renderer()
    title = fig._suptitle.get_window_extent(renderer)
    box = fig.bbox
    assert box.x0 <= title.x0 and title.x1 <= box.x1 and box.y0 <= title.y0 and title.y1 <= box.y1, (title, box)
    for ax in fig.axes:  # and the title does not run into the digits' captions
        if ax.get_title():
            assert ax.title.get_window_extent(renderer).y1 <= title.y0
