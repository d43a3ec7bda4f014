"""The reference engine: the readable Flax model (network/model.py) trained by optax, step by step.

It exists to hold the fast engines to: the tests and the benchmark (tools/bench.py) train it beside
them on the same draws and compare, handing it to Trainer as its engine. The pipeline never trains with it."""

import jax
import jax.numpy as jnp

from lecun1989.network import fastnet, model
from lecun1989.training.optax_scan import OptaxScanEngine


class ReferenceEngine(OptaxScanEngine):
    name = "reference"
    built_for = f"Flax model on {jax.default_backend()}"

    def __init__(self, variant, n_train: int):
        self.net = model.build(variant)
        super().__init__(variant, n_train)

    def step_loss(self, params, x, y, shift, dropout_key):
        x = jnp.roll(x, jnp.asarray(fastnet.shifts(self.variant.shift_pixels))[shift], axis=(0, 1))
        outputs = self.net.apply({"params": params}, x[None], train=True, dropout_rng=dropout_key)
        return self.loss(outputs, y[None]).mean()

    def predict(self, params, X):
        return self.net.apply({"params": params}, X)
