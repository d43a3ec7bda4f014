"""What the train and evaluate stages share: one variant's runs from params.yaml, and their digits.

A run is one (subset draw, initialisation seed) pair: each draw of the variant's dataset times each
of its n_seeds seeds (seed, seed+1, ...), draw-major."""

from typing import NamedTuple

from lecun1989.pipeline.params import load_for_variant


class VariantRuns(NamedTuple):
    name: str
    variant: object  # params.Variant
    runs: list  # (draw, seed) per run
    labels: list  # d<draw>_s<seed> per run: curves and per-run metrics name runs so

    @property
    def draws(self) -> list[int]:
        return [d for d, _ in self.runs]

    @property
    def seeds(self) -> list[int]:
        return [s for _, s in self.runs]


def variant_runs(name: str, params_path) -> VariantRuns:
    """The variant and its runs; refuses a bad params file (no JAX imported yet: a fraction of a second)."""
    params = load_for_variant(name, params_path)
    runs = params.runs(name)
    return VariantRuns(name, params.variants[name], runs, [run_label(d, s) for d, s in runs])


def run_label(draw: int, seed: int) -> str:
    """A run's name in curves and per-run metrics: d<draw>_s<seed>."""
    return f"d{draw}_s{seed}"


def load_splits(prepared_dir, runs: VariantRuns) -> dict:
    """{split: (X, Y)}: lists with one array per run (its draw's digits, one device copy per draw), for
    the splits that hold digits: a dataset without validation digits (USPS) has no "val"."""
    import jax.numpy as jnp
    import numpy as np

    from lecun1989.data import prepared

    draws = dict.fromkeys(runs.draws)
    data = {d: prepared.load(prepared.draw_dir(prepared_dir, d)) for d in draws}
    arrays = {d: {split: (jnp.asarray(s["x"]), jnp.asarray(s["y"].astype(np.int32))) for split, s in data[d].items()} for d in draws}
    present = [split for split in prepared.SPLITS if all(len(data[d][split]["y"]) for d in draws)]
    return {split: ([arrays[d][split][0] for d in runs.draws], [arrays[d][split][1] for d in runs.draws]) for split in present}
