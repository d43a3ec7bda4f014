"""The XLA engine: fastnet (network/fastnet.py: each convolution one gather and one matmul) trained
by optax inside one lax.scan per epoch, parameters and optimizer state in fastnet's layout.

It runs wherever JAX runs; on accelerators runs.py vmaps its epoch over runs (vectorized.py)."""

import jax
import jax.numpy as jnp
import optax

from lecun1989.network import fastnet, model
from lecun1989.training.engine import State, epoch_draws, init_flax
from lecun1989.training.losses import LOSSES
from lecun1989.training.optimizers import make_optimizer


class XlaEngine:
    name = "xla"

    def __init__(self, variant, n_train: int):
        self.variant, self.n_train = variant, n_train
        self.built_for = f"XLA (jax {jax.__version__}) on {jax.default_backend()}"
        self.loss = LOSSES[variant.loss]
        self.tx = make_optimizer(variant, n_train)
        self._compiled = jax.jit(self.scan_epoch)
        self.h1_tables = fastnet.h1_tables(variant.shift_pixels)

    def init(self, seed: int) -> State:
        params, key = init_flax(self.variant, seed)
        fast = fastnet.to_fast(params)
        return State(fast, self.tx.init(fast), key)

    def params(self, state: State) -> dict:
        return fastnet.to_flax(state.params)

    def step_loss(self, f, x, y, shift, keep_mask):
        v = self.variant
        patches = fastnet.padded(x, model.PAD_VALUE)[jnp.asarray(self.h1_tables)[shift]]
        return self.loss(fastnet.forward(f, patches, v.activation, v.head, keep_mask, 1.0 - v.dropout), y)

    def epoch(self, state: State, epoch: int, X, Y, h=None) -> State:
        return self._compiled(state, jnp.int32(epoch), X, Y, h)

    def scan_epoch(self, state: State, epoch, X, Y, h=None) -> State:
        """The epoch as one lax.scan, traceable (the vectorized runs vmap it)."""
        shift, keep = epoch_draws(self.variant, state.key, epoch, self.n_train, X.shape[0], masks=True)
        extra = {} if h is None else {"hessian": fastnet.to_fast(h)}  # SDLM's curvature, moved like the weights

        def step(carry, sample):
            params, opt = carry
            updates, opt = self.tx.update(jax.grad(self.step_loss)(params, *sample), opt, params, **extra)
            return (optax.apply_updates(params, updates), opt), None

        (params, opt), _ = jax.lax.scan(step, (state.params, state.opt), (X, Y, shift, keep))
        return State(params, opt, state.key)

    def predict(self, fast, X):
        return fastnet.predict_chunked(fast, X, self.variant.activation, self.variant.head)
