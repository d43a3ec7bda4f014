"""The native forward pass (predict.cc): a run's outputs on many digits, for evaluation."""

import jax
import jax.numpy as jnp
import numpy as np

from lecun1989.training.native import codes
from lecun1989.training.native.library import PREDICT_TARGET


def predict(variant, packed, X):
    """The outputs (n, 10) of one run's packed parameters (layout.pack) on X (n, 16, 16); traceable by jit."""
    out = jax.ShapeDtypeStruct((X.shape[0], 10), jnp.float32)
    attrs = {"activation": np.int32(codes.ACTIVATIONS[variant.activation]), "head": np.int32(codes.HEADS[variant.head])}
    return jax.ffi.ffi_call(PREDICT_TARGET, out)(X, packed, **attrs)
