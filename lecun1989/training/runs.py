"""The runs executor: every run of one variant (one engine State per run) trained side by side.

On the CPU each run is one program on one thread per core (threads): a vmapped batch of runs turns
every matmul into a batched one that XLA's CPU backend runs more slowly per run (measured: 4 seeds
67k vs 75k seed-samples/s, 16 seeds 58k vs 79k), and alone a run's bits do not depend on how many
runs train beside it. On accelerators, where one small program per run leaves the device idle, the
XLA engine's epoch is vmapped over the runs and sharded over the devices (vectorized.py).
"""

import logging
from functools import cache

import jax
import jax.numpy as jnp
import numpy as np

from lecun1989 import runtime
from lecun1989.evaluation import scoring
from lecun1989.network import hessian, hessian_fixed
from lecun1989.training import engine as engines
from lecun1989.training.native import curvature as native_curvature
from lecun1989.training.threads import each_run, each_run_then, run_data

log = logging.getLogger(__name__)


def make_engine(name: str, variant, n_train: int):
    """The engine called name (reference, xla or native) for this variant and training-set size."""
    if name == "reference":
        from lecun1989.training.reference import ReferenceEngine as Engine
    elif name == "xla":
        from lecun1989.training.xla import XlaEngine as Engine
    else:
        from lecun1989.training.native.native_engine import NativeEngine as Engine
    return Engine(variant, n_train)


@cache
def _say(line: str) -> None:  # once per process
    log.warning(line)


class Runs:
    """The runs of one variant: one per seed in `seeds` (repeats allowed: the same seeds on each
    subset draw). Methods that take data (X, Y) accept one array for every run or a list of one per
    run (each draw's digits). engine: auto | native | xla (runtime.engine()'s choices) or reference."""

    def __init__(self, variant, n_train: int, seeds: list[int], engine: str = "auto", mode: str | None = None, name: str = "variant"):
        self.variant, self.seeds = variant, list(seeds)
        why_mode = f"asked for {mode}" if mode else ""
        if mode is None:
            mode, why_mode = runtime.runs_mode(jax.default_backend())
        if mode == "vectorized" and variant.optimizer == "sdlm":
            _say(f"{name}: optimizer sdlm re-estimates its curvature per run between epochs, so its runs train one by one (threads)")
            mode, why_mode = "threads", "sdlm"
        chosen = engine
        if engine != "reference":
            chosen, why_not = engines.choose(variant, engine, vectorized=mode == "vectorized")
            if why_not:
                native = "LECUN1989_RUNS=threads" if mode == "vectorized" else "make native" if jax.default_backend() == "cpu" else ""
                _say(
                    f"{name}: native CPU engine unavailable ({why_not}); training on the XLA engine (the model records it): "
                    + (f"{native} for the native engine, or " if native else "")
                    + "LECUN1989_ENGINE=xla to choose XLA"
                )
        self.engine = make_engine(chosen, variant, n_train)
        self.mode = mode
        self.description = f"{self.engine.name} engine ({self.engine.built_for})"
        self._predict = jax.jit(self.engine.predict)
        # SDLM's curvature in a fixed order, the same bits on every machine: from the native library, or numpy
        fixed = native_curvature.gauss_newton_diagonal if self.engine.name == "native" else hessian_fixed.gauss_newton_diagonal
        self._curvature = (
            jax.jit(lambda p, epoch, X: hessian.before_epoch(variant, p, epoch, X, fixed)) if variant.optimizer == "sdlm" else None
        )
        self._vectorized = None
        if mode == "vectorized":
            from lecun1989.training.vectorized import VectorizedRuns

            self._vectorized = VectorizedRuns(self.engine.scan_epoch)
        where = f"{jax.device_count()} {jax.default_backend()} device(s), {jax.process_count()} process(es)"
        log.info(f"{name}: training on the {self.description}, {mode} ({runtime.RUNS[mode]}; {where}; {why_mode})")

    def init(self):
        """Every run's initial State: a list (threads) or one State with a leading run axis (vectorized)."""
        states = [self.engine.init(seed) for seed in self.seeds]
        return jax.tree.map(lambda *xs: jnp.stack(xs), *states) if self._vectorized else states

    def _each(self, states) -> list:
        return [jax.tree.map(lambda a, i=i: a[i], states) for i in range(len(self.seeds))] if self._vectorized else states

    def train_epoch(self, states, epoch: int, X, Y):
        """X, Y: one training set for every run, or one per run (lists, or arrays with a leading run axis)."""
        if not isinstance(X, list | tuple) and np.ndim(X) == 4:  # (runs, n, 16, 16), (runs, n)
            X, Y = list(X), list(Y)
        if self._vectorized:
            stacked = lambda d: jnp.stack(d) if isinstance(d, list | tuple) else d
            return self._vectorized.train_epoch(states, epoch, stacked(X), stacked(Y))

        return each_run(lambda i: self._train_run(states[i], epoch, run_data(X, i), run_data(Y, i)), len(self.seeds))

    def _train_run(self, state, epoch: int, x, y):
        h = self._curvature(self.engine.params(state), jnp.int32(epoch), x) if self._curvature else None
        return jax.block_until_ready(self.engine.epoch(state, epoch, x, y, h))

    def train_and_score(self, states, epoch: int, X, Y, splits: dict) -> tuple:
        """(train_epoch(...), {split: score(states, x, y)} for splits {name: (x, y)}), the same values,
        with each run's evaluation queued as soon as its epoch is trained: with more runs than cores,
        the last runs' epochs train beside the first runs' evaluations instead of beside idle cores."""
        if self._vectorized:
            states = self.train_epoch(states, epoch, X, Y)
            return states, {split: self.score(states, x, y) for split, (x, y) in splits.items()}
        names = list(splits)

        def train(i):
            return self._train_run(states[i], epoch, run_data(X, i), run_data(Y, i))

        def predict_and_score(i, j, state):  # run i on split j, scored here: on the pool, not after it
            x, y = (run_data(d, i) for d in splits[names[j]])
            return scoring.score(np.asarray(self._predict(state.params, x))[None], np.asarray(y)[None], self.variant.loss)

        states, scored = each_run_then(train, predict_and_score, len(self.seeds), len(names))
        return states, {split: scoring.stack_runs([row[j] for row in scored]) for j, split in enumerate(names)}

    def params(self, states) -> dict:
        """Every run's parameters in the Flax layout, stacked on a leading run axis (the model file's)."""
        return jax.tree.map(lambda *xs: np.stack(xs), *[jax.tree.map(np.asarray, self.engine.params(s)) for s in self._each(states)])

    def predict(self, states, X) -> np.ndarray:
        """Outputs (n_runs, n, 10) of every run on X (its own X, for a list), no dropout, no shift."""
        each = self._each(states)
        return np.stack(each_run(lambda i: np.asarray(self._predict(each[i].params, run_data(X, i))), len(each)))

    def score(self, states, X, Y) -> dict:
        labels = np.stack([np.asarray(run_data(Y, i)) for i in range(len(self.seeds))])
        return scoring.score(self.predict(states, X), labels, self.variant.loss)

    def weights(self, states) -> list:
        """The parameters in the engine's layout, each array with a leading run axis (the finiteness check's)."""
        if self._vectorized:
            return jax.tree.leaves(states.params)
        return [np.stack(arrays) for arrays in zip(*[jax.tree.leaves(s.params) for s in states])]
