"""The reference engine: the readable Flax model (network/model.py) trained by optax, step by step.

It exists to hold the fast engines to: the tests and the benchmark train it beside them on the same
draws and compare. The pipeline never trains with it."""

import jax
import jax.numpy as jnp
import optax

from lecun1989.network import fastnet, model
from lecun1989.training.engine import State, epoch_draws, init_flax
from lecun1989.training.losses import LOSSES
from lecun1989.training.optimizers import make_optimizer


class ReferenceEngine:
    name = "reference"
    built_for = f"Flax model on {jax.default_backend()}"

    def __init__(self, variant, n_train: int):
        self.variant, self.n_train = variant, n_train
        self.net = model.build(variant)
        self.loss = LOSSES[variant.loss]
        self.tx = make_optimizer(variant, n_train)
        self._compiled = jax.jit(self.scan_epoch)

    def init(self, seed: int) -> State:
        params, key = init_flax(self.variant, seed)
        return State(params, self.tx.init(params), key)

    def params(self, state: State) -> dict:
        return state.params

    def step_loss(self, params, x, y, shift, dropout_key):
        x = jnp.roll(x, jnp.asarray(fastnet.shifts(self.variant.shift_pixels))[shift], axis=(0, 1))
        outputs = self.net.apply({"params": params}, x[None], train=True, dropout_rng=dropout_key)
        return self.loss(outputs, y[None]).mean()

    def epoch(self, state: State, epoch: int, X, Y, h=None) -> State:
        return self._compiled(state, jnp.int32(epoch), X, Y, h)

    def scan_epoch(self, state: State, epoch, X, Y, h=None) -> State:
        """The epoch as one lax.scan, traceable (the vectorized runs vmap it)."""
        shift, dropout = epoch_draws(self.variant, state.key, epoch, self.n_train, X.shape[0], masks=False)
        extra = {} if h is None else {"hessian": h}

        def step(carry, sample):
            params, opt = carry
            updates, opt = self.tx.update(jax.grad(self.step_loss)(params, *sample), opt, params, **extra)
            return (optax.apply_updates(params, updates), opt), None

        (params, opt), _ = jax.lax.scan(step, (state.params, state.opt), (X, Y, shift, dropout))
        return State(params, opt, state.key)

    def predict(self, params, X):
        return self.net.apply({"params": params}, X)
