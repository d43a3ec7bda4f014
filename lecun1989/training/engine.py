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
from lecun1989.network import fastnet, model
from lecun1989.training import xla_cpu  # noqa: F401  (sets XLA's CPU flags before the backend starts)
from lecun1989.training.losses import LOSSES
from lecun1989.training.native import engine as native
from lecun1989.training.optimizers import make_optimizer

PREDICT_CHUNK = 256  # digits per forward pass in evaluation: bounds the im2col buffers
# Seeds are not vmapped: a vmapped batch of seeds turns every matmul into a batched one that XLA's
# CPU backend runs more slowly per seed than the plain one-seed program (measured: 4 seeds 67k vs 75k
# seed-samples/s, 16 seeds 58k vs 79k). Running each seed alone also makes a seed's bits independent
# of how many seeds train beside it.


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


class Trainer:
    """All seeds of one variant. Every array in a State has a leading seed axis."""

    def __init__(self, variant, n_train: int, reference: bool = False):
        self.variant = variant
        self.net = model.build(variant)
        self.loss = LOSSES[variant.loss]
        self.n_train = n_train
        self.reference = reference
        self.tx = make_optimizer(variant, variant.epochs * n_train)
        self.h1_tables = fastnet.h1_tables(variant.shift_pixels)
        self._epoch = jax.jit(self._one_seed_epoch)
        self._predict = jax.jit(self._one_seed_predict)

    @functools.cached_property
    def native_epoch(self):
        """The epoch in C++ (training/native/) where that engine runs, else None: then the lax.scan
        below runs it. Chosen on first use, so that evaluation alone never builds the engine."""
        if self.reference or native.choose(self.variant) != "native":
            return None
        return native.NativeEpoch(self.variant, self.variant.epochs * self.n_train)

    @property
    def engine(self) -> str:
        return "reference" if self.reference else "native" if self.native_epoch else "xla"

    def seeds(self) -> list[int]:
        return [self.variant.seed + i for i in range(self.variant.n_seeds)]

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

    def _one_seed_epoch(self, state: State, epoch, X, Y) -> State:
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
        if self.native_epoch:
            params, opt_state = self.native_epoch(self.to_engine(state.params), state.opt_state, X, Y, shift, dropout)
            return State(self.from_engine(params), opt_state, state.data_key)

        def step(carry, sample):
            params, opt_state = carry
            grads = jax.grad(loss_fn)(params, *sample)
            updates, opt_state = self.tx.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), None

        samples = (X, Y, shift, dropout)
        carry = (self.to_engine(state.params), state.opt_state)
        (params, opt_state), _ = jax.lax.scan(step, carry, samples)
        return State(self.from_engine(params), opt_state, state.data_key)

    def each_seed(self, fn, tree) -> list:
        """[fn(tree of seed i) for each seed i], the seeds spread over one thread per CPU core."""
        n = len(self.seeds())
        with ThreadPoolExecutor(min(n, os.cpu_count() or 1)) as pool:
            return list(pool.map(lambda i: fn(jax.tree.map(lambda a: a[i], tree)), range(n)))

    def train_epoch(self, state: State, epoch: int, X, Y) -> State:
        run = lambda one: jax.block_until_ready(self._epoch(one, jnp.int32(epoch), X, Y))
        return jax.tree.map(lambda *xs: jnp.stack(xs), *self.each_seed(run, state))

    def _one_seed_predict(self, params, X):
        if self.reference:
            return self.net.apply({"params": params}, X)
        v, f = self.variant, fastnet.to_fast(params)
        n = X.shape[0]
        chunks = X[: n - n % PREDICT_CHUNK].reshape(-1, PREDICT_CHUNK, 16, 16)
        outputs = jax.lax.map(lambda x: fastnet.predict(f, x, v.activation, v.head), chunks).reshape(-1, 10)
        if n % PREDICT_CHUNK:
            outputs = jnp.concatenate([outputs, fastnet.predict(f, X[n - n % PREDICT_CHUNK :], v.activation, v.head)])
        return outputs

    def predict(self, params, X) -> np.ndarray:
        """Outputs (n_seeds, n, 10) of every seed on X, no dropout, no shift."""
        return np.stack(self.each_seed(lambda p: np.asarray(self._predict(p, X)), params))

    def score(self, params, X, Y) -> dict:
        """Per seed: outputs, the variant's loss, exact misses and error % on (X, Y)."""
        outputs = self.predict(params, X)
        losses = np.asarray(self.loss(outputs, np.asarray(Y)[None])).mean(axis=-1)
        missed = scoring.misses(outputs, np.asarray(Y))
        return {"outputs": outputs, "loss": losses, "misses": missed, "error": scoring.error_pct(missed, len(Y))}
