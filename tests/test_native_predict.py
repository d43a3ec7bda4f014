"""The native evaluation forward pass, eight digits a lane each (forward8.h), against training's
forward pass one digit at a time (net.h): the same outputs bit for bit, for every activation and
head, on trained-looking and on saturating weights, for a count of digits that is not a multiple of 8."""

import ctypes

import jax
import numpy as np
import pytest
from helpers import variant

from lecun1989.network import fastnet
from lecun1989.training.engine import init_flax
from lecun1989.training.native import build, codes, layout, library
from lecun1989.training.native.forward_pass import predict

pytestmark = pytest.mark.skipif(bool(library.problem(variant("lecun1989"))), reason="native engine not available here")


def digitwise(v, packed, X) -> np.ndarray:
    out = np.zeros((X.shape[0], 10), np.float32)
    build.load().lecun1989_predict_digitwise(
        ctypes.c_int64(X.shape[0]),
        ctypes.c_int32(codes.ACTIVATIONS[v.activation]),
        ctypes.c_int32(codes.HEADS[v.head]),
        np.ascontiguousarray(X, np.float32).ctypes.data_as(ctypes.c_void_p),
        np.ascontiguousarray(packed, np.float32).ctypes.data_as(ctypes.c_void_p),
        out.ctypes.data_as(ctypes.c_void_p),
    )
    return out


@pytest.mark.parametrize("activation", sorted(codes.ACTIVATIONS))
@pytest.mark.parametrize("head", sorted(codes.HEADS))
@pytest.mark.parametrize("scale", [1.0, 8.0])  # 8: most units saturate, outputs reach +-1
def test_batched_forward_is_the_digitwise_forward_bit_for_bit(activation, head, scale):
    v = variant("lecun1989", activation=activation, head=head)
    params, _ = init_flax(v, 3)
    packed = np.asarray(layout.pack(fastnet.to_fast(jax.tree.map(lambda a: a * scale, params))))
    rng = np.random.default_rng(7)
    X = rng.uniform(-1.0, 1.0, (21, 16, 16)).astype(np.float32)
    X[3] = -1.0  # a blank digit: every H1 input is the padding's value
    X[4] = 0.0  # and one of signed zeros' edge: products of +-0
    want = digitwise(v, packed, X)
    got = np.asarray(jax.jit(lambda p, x: predict(v, p, x))(packed, X))
    assert np.isfinite(want).all()
    assert got.view(np.uint32).tolist() == want.view(np.uint32).tolist()
    for n in (1, 8, 9):  # whole and partial groups of eight
        part = np.asarray(predict(v, packed, X[:n]))
        assert part.view(np.uint32).tolist() == want[:n].view(np.uint32).tolist()
