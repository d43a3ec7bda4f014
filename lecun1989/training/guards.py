"""Checks run after every epoch: a run that went wrong stops with one message, before any output."""

import numpy as np

from lecun1989.pipeline.errors import DivergenceError


def check_finite(arrays: list, variant_name: str, seeds: list[int], epoch: int) -> None:
    """Stop at the first seed whose parameters or losses (leading axis: seed) hold a NaN or inf."""
    finite = np.ones(len(seeds), bool)
    for array in arrays:
        finite &= np.isfinite(np.asarray(array)).reshape(len(seeds), -1).all(axis=1)
    for seed, ok in zip(seeds, finite):
        if not ok:
            raise DivergenceError(
                f"variant {variant_name}, run {seed}, epoch {epoch}: loss or parameters became NaN/inf "
                "(learning rate too high?); no model or metrics were written"
            )
