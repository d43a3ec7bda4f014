"""SDLM's curvature estimate from the native library (curvature.h): hessian_fixed's float64
operations in hessian_fixed's order, so its bits, with its signature, as one XLA FFI call."""

import jax
import jax.numpy as jnp
import numpy as np

from lecun1989.network import fastnet
from lecun1989.training.native import codes, layout
from lecun1989.training.native.library import CURVATURE_TARGET


def gauss_newton_diagonal(params, X, activation: str, head: str) -> dict:
    """hessian_fixed.gauss_newton_diagonal(params, X, activation, head), bit for bit; X float32."""
    packed = layout.pack(fastnet.to_fast(params))
    attrs = {"activation": np.int32(codes.ACTIVATIONS[activation]), "head": np.int32(codes.HEADS[head])}
    h = jax.ffi.ffi_call(CURVATURE_TARGET, jax.ShapeDtypeStruct(packed.shape, jnp.float32))(packed, X, **attrs)
    return fastnet.to_flax(layout.unpack(h))
