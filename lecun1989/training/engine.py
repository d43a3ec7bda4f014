"""Training: batch-1 updates inside one compiled lax.scan per epoch, so that Python only runs once
per epoch. Each seed runs the same compiled one-seed program; the seeds of a variant are spread over
one thread per CPU core.

The XLA engine runs fastnet (im2col gathers, parameters and optimizer state in fastnet's layout
during training); the native engine (training/native/, the default where it can run) runs the same
epoch in C++ with the same inputs and outputs; `reference=True` runs the readable Flax model instead,
with the same random draws and optimizer, which is how tests check both fast paths."""

import functools
import os
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from lecun1989.evaluation import scoring
from lecun1989.network import fastnet, hessian, model
from lecun1989.pipeline.errors import ParamsError
from lecun1989.training import vectorized, xla_cpu  # noqa: F401  (xla_cpu sets XLA's CPU flags before the backend starts)
from lecun1989.training.caches import use_jax_cache
from lecun1989.training.losses import LOSSES
from lecun1989.training.native import engine as native
from lecun1989.training.optimizers import make_optimizer

use_jax_cache()  # before anything is compiled: a stage loads what earlier stages compiled
PREDICT_CHUNK = 256  # digits per forward pass in evaluation: bounds the im2col buffers
# Seeds are not vmapped: a vmapped batch of seeds turns every matmul into a batched one that XLA's
# CPU backend runs more slowly per seed than the plain one-seed program (measured: 4 seeds 67k vs 75k
# seed-samples/s, 16 seeds 58k vs 79k). Running each seed alone also makes a seed's bits independent
# of how many seeds train beside it. On accelerators, where one small program per seed leaves the
# device idle, the seeds run vmapped and sharded instead (vectorized.py; LECUN1989_RUNS picks).


def draws(data_key, step, max_shift: int):
    """The random choices of one training step: which shift (an index into fastnet.shifts) and the
    dropout key. Both engines use these, so the fast and reference paths see the same digits."""
    shift_key, dropout_key = jax.random.split(jax.random.fold_in(data_key, step))
    dx, dy = jax.random.randint(shift_key, (2,), -max_shift, max_shift + 1)
    return (dx + max_shift) * (2 * max_shift + 1) + (dy + max_shift), dropout_key


class State(NamedTuple):
    params: dict  # the Flax model's pytree
    opt_state: tuple  # over the engine's own layout (fastnet's, or Flax's for the reference)
    data_key: jax.Array  # per-seed stream for shifts and dropout


def run_data(data, i: int):
    """Run i's array: `data` is one array shared by every run, or a list of one array per run."""
    return data[i] if isinstance(data, list | tuple) else data


class Trainer:
    """All runs of one variant. Every array in a State has a leading run axis. A run is an
    initialisation seed (by default the variant's n_seeds seeds; `seeds` lists them, repeats
    allowed, e.g. the same seeds on each subset draw); methods that take data (X, Y) accept one
    array for every run or a list of one per run (each draw's digits)."""

    def __init__(self, variant, n_train: int, reference: bool = False, seeds: list[int] | None = None):
        self.variant = variant
        self._seeds = list(seeds) if seeds is not None else [variant.seed + i for i in range(variant.n_seeds)]
        self.net = model.build(variant)
        self.loss = LOSSES[variant.loss]
        self.n_train = n_train
        self.reference = reference
        self.tx = make_optimizer(variant, variant.epochs * n_train)
        self.h1_tables = fastnet.h1_tables(variant.shift_pixels)
        self._epoch = jax.jit(self._one_seed_epoch)
        self._hessian = jax.jit(self._one_seed_hessian) if variant.optimizer == "sdlm" else None
        self._predict = jax.jit(self._one_seed_predict)
        mode = vectorized.runs_mode()  # threads on the CPU, vectorized on accelerators; see vectorized.py
        if jax.default_backend() != "cpu" and "JAX_DEFAULT_MATMUL_PRECISION" not in os.environ:
            # GPUs round float32 matmul inputs to TF32 by default: on an H100 that put the engine 1.8e-5
            # from the Flax reference after 100 steps; full float32 passed the 1e-5 tests, and a 9-run row
            # took 7.65 s against 7.87 s with TF32 (one process each: no measurable cost).
            jax.config.update("jax_default_matmul_precision", "highest")
        if mode == "vectorized" and self._hessian:
            raise ParamsError("optimizer sdlm re-estimates its curvature per run between epochs: set LECUN1989_RUNS=threads")
        # native where it can run, else xla; the native epoch trains one run per thread, never vmapped
        self.engine = "reference" if reference else native.choose(variant, vectorized=mode == "vectorized")
        vectorized.announce(mode, self.engine)
        self.vectorized = vectorized.VectorizedRuns(self._one_seed_epoch) if mode == "vectorized" else None

    @functools.cached_property
    def native_epoch(self):
        """The epoch in C++ where the native engine runs, else None: then the lax.scan below runs it."""
        return native.NativeEpoch(self.variant, self.variant.epochs * self.n_train) if self.engine == "native" else None

    def seeds(self) -> list[int]:
        return self._seeds

    def to_engine(self, params):
        return params if self.reference else fastnet.to_fast(params)

    def from_engine(self, params):
        return params if self.reference else fastnet.to_flax(params)

    def init_one(self, seed: int) -> State:
        init_key, data_key = jax.random.split(jax.random.PRNGKey(seed))
        params = self.net.init(init_key, jnp.zeros((1, 16, 16), jnp.float32))["params"]
        return State(params, self.tx.init(self.to_engine(params)), data_key)

    def init(self) -> State:
        return jax.tree.map(lambda *xs: jnp.stack(xs), *[self.init_one(s) for s in self.seeds()])

    def reference_loss(self, params, x, y, shift, dropout_key):
        x = jnp.roll(x, jnp.asarray(fastnet.shifts(self.variant.shift_pixels))[shift], axis=(0, 1))
        outputs = self.net.apply({"params": params}, x[None], train=True, dropout_rng=dropout_key)
        return self.loss(outputs, y[None]).mean()

    def fast_loss(self, f, x, y, shift, keep_mask):
        v = self.variant
        patches = fastnet.padded(x, model.PAD_VALUE)[jnp.asarray(self.h1_tables)[shift]]
        return self.loss(fastnet.forward(f, patches, v.activation, v.head, keep_mask, 1.0 - v.dropout), y)

    def _one_seed_hessian(self, params, epoch, X):
        """SDLM's h before an epoch, in the Flax layout: averaged over hessian_samples digits, the
        ones after the previous epoch's (cycling through X), in their unshifted form."""
        v, n = self.variant, X.shape[0]
        window = (epoch * v.sdlm.hessian_samples + jnp.arange(v.sdlm.hessian_samples)) % n
        return hessian.gauss_newton_diagonal(params, X[window], v.activation, v.head)

    def _one_seed_epoch(self, state: State, epoch, X, Y, h=None) -> State:
        v, n = self.variant, X.shape[0]
        loss_fn = self.reference_loss if self.reference else self.fast_loss
        # An epoch's random choices are drawn up front, vectorized: drawing them step by step inside
        # the scan made the shift and dropout variants ~1.3-1.4x slower per step.
        shift, dropout = jnp.zeros(n, jnp.int32), None
        if v.shift_pixels or v.dropout:
            steps = epoch * self.n_train + jnp.arange(n)
            shift, keys = jax.vmap(lambda i: draws(state.data_key, i, v.shift_pixels))(steps)
            if v.dropout and not self.reference:  # the fast path takes masks, drawn as flax's Dropout draws them
                keys = jax.vmap(lambda key: jax.random.bernoulli(key, 1.0 - v.dropout, (16, 12)))(keys)
            dropout = keys if v.dropout else None
        h = None if h is None else self.to_engine(h)  # sdlm's per-weight curvature
        if self.native_epoch:
            params, opt_state = self.native_epoch(self.to_engine(state.params), state.opt_state, X, Y, shift, dropout, h)
            return State(self.from_engine(params), opt_state, state.data_key)

        extra_args = {} if h is None else {"hessian": h}

        def step(carry, sample):
            params, opt_state = carry
            grads = jax.grad(loss_fn)(params, *sample)
            updates, opt_state = self.tx.update(grads, opt_state, params, **extra_args)
            return (optax.apply_updates(params, updates), opt_state), None

        samples = (X, Y, shift, dropout)
        carry = (self.to_engine(state.params), state.opt_state)
        (params, opt_state), _ = jax.lax.scan(step, carry, samples)
        return State(self.from_engine(params), opt_state, state.data_key)

    def each_seed(self, fn, tree) -> list:
        """[fn(i, tree of run i) for each run i], the runs spread over one thread per CPU core."""
        n = len(self.seeds())
        with ThreadPoolExecutor(min(n, os.cpu_count() or 1)) as pool:
            return list(pool.map(lambda i: fn(i, jax.tree.map(lambda a: a[i], tree)), range(n)))

    def train_epoch(self, state: State, epoch: int, X, Y) -> State:
        """X, Y: one training set for every run, or one per run: lists, or arrays with a leading run axis."""
        if not isinstance(X, list | tuple) and np.ndim(X) == 4:  # (runs, n, 16, 16), (runs, n)
            X, Y = list(X), list(Y)
        if self.vectorized:
            stacked = lambda d: jnp.stack(d) if isinstance(d, list | tuple) else d  # (runs, n, ...) per-run data
            return self.vectorized.train_epoch(state, epoch, stacked(X), stacked(Y))

        def run(i, one):
            x, y = run_data(X, i), run_data(Y, i)
            h = self._hessian(one.params, jnp.int32(epoch), x) if self._hessian else None  # sdlm's curvature
            return jax.block_until_ready(self._epoch(one, jnp.int32(epoch), x, y, h))

        return jax.tree.map(lambda *xs: jnp.stack(xs), *self.each_seed(run, state))

    def _one_seed_predict(self, params, X):
        if self.reference:
            return self.net.apply({"params": params}, X)
        v, f = self.variant, fastnet.to_fast(params)
        if self.engine == "native":
            return native.predict(v, f, X)
        n = X.shape[0]
        chunks = X[: n - n % PREDICT_CHUNK].reshape(-1, PREDICT_CHUNK, 16, 16)
        outputs = jax.lax.map(lambda x: fastnet.predict(f, x, v.activation, v.head), chunks).reshape(-1, 10)
        if n % PREDICT_CHUNK:
            outputs = jnp.concatenate([outputs, fastnet.predict(f, X[n - n % PREDICT_CHUNK :], v.activation, v.head)])
        return outputs

    def predict(self, params, X) -> np.ndarray:
        """Outputs (n_runs, n, 10) of every run on X (its own X, for a list), no dropout, no shift."""
        return np.stack(self.each_seed(lambda i, p: np.asarray(self._predict(p, run_data(X, i))), params))

    def score(self, params, X, Y) -> dict:
        """Per run: outputs, the variant's loss, exact misses and error % on (X, Y)."""
        outputs = self.predict(params, X)
        labels = np.stack([np.asarray(run_data(Y, i)) for i in range(len(outputs))])  # (n_runs, n)
        losses = np.asarray(self.loss(outputs, labels)).mean(axis=-1)
        missed = scoring.misses(outputs, labels)
        return {"outputs": outputs, "loss": losses, "misses": missed, "error": scoring.error_pct(missed, labels.shape[1])}
