"""What the train and evaluate stages share: one variant's runs from params.yaml, and their digits.

A run is one (subset draw, initialisation seed) pair: each draw of the variant's dataset times each
of its n_seeds seeds (seed, seed+1, ...), draw-major."""

import hashlib
import json
from typing import NamedTuple

from lecun1989.pipeline.schema import load_for_variant


class VariantRuns(NamedTuple):
    name: str
    variant: object  # schema.Variant
    runs: list  # (draw, seed) per run
    labels: list  # d<draw>_s<seed> per run: curves and per-run metrics name runs so
    params: object  # the whole schema.Params

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
    return VariantRuns(name, params.variants[name], runs, [run_label(d, s) for d, s in runs], params)


def run_label(draw: int, seed: int) -> str:
    """A run's name in curves and per-run metrics: d<draw>_s<seed>."""
    return f"d{draw}_s{seed}"


def trained_on(runs: VariantRuns, prepared_dir) -> dict:
    """What the variant's model is trained from, recorded in the model file and compared by evaluate:
    the variant's name, the SHA-256 of its params entry and its dataset's (canonical JSON), and the
    SHA-256 of the manifest of each draw in prepared_dir (which lists the digest of every array)."""
    from lecun1989.data import prepared

    entry = {"variant": runs.variant.model_dump(mode="json"), "dataset": runs.params.datasets[runs.variant.dataset].model_dump(mode="json")}
    canonical = json.dumps(entry, sort_keys=True, separators=(",", ":")).encode()
    digests = {
        f"draw_{d}": hashlib.sha256(prepared.manifest_bytes(prepared.draw_dir(prepared_dir, d))).hexdigest()
        for d in dict.fromkeys(runs.draws)
    }
    return {"variant": runs.name, "params_sha256": hashlib.sha256(canonical).hexdigest(), "prepared": digests}


def load_splits(prepared_dir, runs: VariantRuns) -> dict:
    """{split: (X, Y)}: lists with one array per run (its draw's digits, one device copy per draw), for
    the splits that hold digits (a dataset without validation digits, USPS, has no "val"); refused
    unless prepared_dir holds what dvc.lock records as its preprocess stage's output."""
    import jax.numpy as jnp
    import numpy as np

    from lecun1989.data import prepared
    from lecun1989.pipeline import lockfile

    lockfile.check(prepared_dir, f"preprocess@{runs.variant.dataset}", "the prepared data")
    draws = dict.fromkeys(runs.draws)
    data = {d: prepared.load(prepared.draw_dir(prepared_dir, d)) for d in draws}
    arrays = {d: {split: (jnp.asarray(s["x"]), jnp.asarray(s["y"].astype(np.int32))) for split, s in data[d].items()} for d in draws}
    present = [split for split in prepared.SPLITS if all(len(data[d][split]["y"]) for d in draws)]
    return {split: ([arrays[d][split][0] for d in runs.draws], [arrays[d][split][1] for d in runs.draws]) for split in present}
