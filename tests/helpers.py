"""Small shared helpers of the unit tests: variants of the repository's params.yaml, and tiny data."""

from pathlib import Path

import jax
import numpy as np

from lecun1989.pipeline import schema

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = tuple(schema.load_params(ROOT / "params.yaml").variants)


def variant(name: str, **changes):
    """variants.<name> of params.yaml with `changes`, validated by the pipeline's own schema."""
    base = schema.load_params(ROOT / "params.yaml").variants[name]
    return schema.Variant.model_validate({**base.model_dump(), **changes})


def seeds(v) -> list[int]:
    """A variant's own initialisation seeds: seed, seed + 1, ... (n_seeds of them), as a stage trains them on one draw."""
    return [v.seed + i for i in range(v.n_seeds)]


def make_runs(v, n_train: int, **kwargs):
    """The trainer of the variant's own seeds (training.runs.Trainer; kwargs: engine, a name or an Engine, and mode)."""
    from lecun1989.training.runs import Trainer

    return Trainer(v, n_train, seeds(v), **kwargs)


def train(runs, X, Y, epochs: int, states=None):
    """The runs' states after `epochs` epochs on (X, Y), from their initial states unless given."""
    states = runs.init() if states is None else states
    for epoch in range(epochs):
        states = runs.train_epoch(states, epoch, X, Y)
    return states


def max_diff(a, b) -> float:
    """The largest absolute difference between two pytrees of the same structure."""
    assert jax.tree.structure(a) == jax.tree.structure(b)
    return max(
        float(np.abs(np.asarray(u, np.float64) - np.asarray(v, np.float64)).max()) for u, v in zip(jax.tree.leaves(a), jax.tree.leaves(b))
    )


def tiny_data(n: int, seed: int = 0):
    """n fake 16x16 digits in [-1, 1] (a bright blob on -1 background) and int32 labels."""
    rng = np.random.default_rng(seed)
    x = np.full((n, 16, 16), -1.0, np.float32)
    for k in range(n):
        i, j = rng.integers(3, 13, 2)
        x[k, i - 2 : i + 2, j - 3 : j + 3] = rng.uniform(0, 1, (4, 6))
    y = rng.integers(0, 10, n).astype(np.int32)
    return x, y


def seed_slice(tree, i: int):
    """Seed i's parameters out of a stacked (n_seeds, ...) pytree, as float64 numpy arrays."""
    return jax.tree.map(lambda a: np.asarray(a[i], np.float64), tree)


def n_params(tree) -> int:
    return sum(int(np.size(a)) for a in jax.tree.leaves(tree))
