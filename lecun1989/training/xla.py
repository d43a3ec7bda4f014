"""The XLA engine: fastnet (network/fastnet.py: each convolution one gather and one matmul) trained
by optax inside one lax.scan per epoch, parameters and optimizer state in fastnet's layout.

It runs wherever JAX runs; on accelerators runs.py vmaps its epoch over runs (vectorized.py)."""

import jax
import jax.numpy as jnp

from lecun1989.network import fastnet, model
from lecun1989.training.optax_scan import OptaxScanEngine


class XlaEngine(OptaxScanEngine):
    name = "xla"
    dropout_masks = True  # drawn as flax's Dropout draws them, so both engines see the same masks

    def __init__(self, variant, n_train: int):
        self.built_for = f"XLA (jax {jax.__version__}) on {jax.default_backend()}"
        self.h1_tables = fastnet.h1_tables(variant.shift_pixels)
        super().__init__(variant, n_train)

    def to_layout(self, flax_tree):
        return fastnet.to_fast(flax_tree)

    def params(self, state) -> dict:
        return fastnet.to_flax(state.params)

    def step_loss(self, f, x, y, shift, keep_mask):
        v = self.variant
        patches = fastnet.padded(x, model.PAD_VALUE)[jnp.asarray(self.h1_tables)[shift]]
        return self.loss(fastnet.forward(f, patches, v.activation, v.head, keep_mask, 1.0 - v.dropout), y)

    def predict(self, fast, X):
        return fastnet.predict_chunked(fast, X, self.variant.activation, self.variant.head)
