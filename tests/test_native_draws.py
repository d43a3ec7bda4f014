"""The native epoch's own draws (draws.h) against JAX's (draws.epoch_draws): every shift and every
dropout mask bit for bit; and a native epoch, which draws them itself, against the reference engine's,
which draws them with JAX."""

import ctypes

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import tiny_data, variant
from reference_engine import ReferenceEngine

from lecun1989.training import draws
from lecun1989.training.engines import make_engine
from lecun1989.training.native import build, library

pytestmark = pytest.mark.skipif(bool(library.problem(variant("lecun1989"))), reason="native engine not available here")


def native_draws(key, first_step: int, n: int, max_shift: int, keep_prob: float):
    """(shift (n,), keep (n, 12, 16)) as the native epoch draws them for steps first_step ...; ctypes."""
    lib = build.load()
    shift, keep = np.zeros(n, np.int32), np.zeros((n, 12, 16), np.bool_)
    lib.lecun1989_epoch_draws(
        np.ascontiguousarray(key, np.uint32).ctypes.data_as(ctypes.c_void_p),
        ctypes.c_uint32(first_step),
        ctypes.c_int(n),
        ctypes.c_int(max_shift),
        ctypes.c_float(keep_prob),
        shift.ctypes.data_as(ctypes.c_void_p),
        keep.ctypes.data_as(ctypes.c_void_p),
    )
    return shift, keep


KEYS = [jax.random.split(jax.random.PRNGKey(seed))[1] for seed in (0, 1, 42, 2**31 - 1)] + [jnp.array([0xFFFFFFFF, 0], jnp.uint32)]


@pytest.mark.parametrize("max_shift", [0, 1, 2, 3, 4])
@pytest.mark.parametrize("key_index", range(len(KEYS)))
def test_shifts_and_masks_equal_jax(max_shift, key_index):
    """Steps of a first and a late epoch (counts past 2^31 wrap as JAX's int32 steps do), both dropout rates."""
    key = KEYS[key_index]
    for dropout in (0.25, 0.5):
        v = variant("change4_relu_dropout", shift_pixels=max_shift, dropout=dropout)
        for epoch, n_train in ((0, 97), (3, 7291), (2, 2**30 + 5)):
            shift, keep = draws.epoch_draws(v, key, jnp.int32(epoch), n_train, 97, masks=True)
            ours_shift, ours_keep = native_draws(key, (epoch * n_train) % 2**32, 97, max_shift, np.float32(1.0 - dropout))
            np.testing.assert_array_equal(ours_shift, np.asarray(shift))
            np.testing.assert_array_equal(ours_keep, np.asarray(keep).transpose(0, 2, 1))  # (map, position)


def test_the_draws_vary():
    """Equal to JAX's, and not constant: the shifts cover the square, the masks keep about keep_prob."""
    shift, keep = native_draws(KEYS[0], 0, 2000, 2, 0.75)
    assert set(shift.tolist()) == set(range(25))
    assert abs(keep.mean() - 0.75) < 0.01


def test_a_native_epoch_trains_on_the_reference_engines_draws():
    """The run's key and step count reach the kernel: epoch 1 of a shifted, dropped-out run as the Flax
    model trains it (SGD: Adam's normalisation would amplify float rounding past the tolerance), and
    unlike epoch 0's draws."""
    x, y = (jnp.asarray(a) for a in tiny_data(60))
    v = variant("lecun1989", shift_pixels=2, dropout=0.25)
    trained = {}
    for name, epoch in (("native", 1), ("reference", 1), ("reference", 0)):
        e = make_engine("native", v, 60) if name == "native" else ReferenceEngine(v, 60)
        trained[name, epoch] = e.params(e.epoch(e.init(3), epoch, x, y))

    def diff(a, b):
        return max(float(np.abs(u - w).max()) for u, w in zip(jax.tree.leaves(trained[a]), jax.tree.leaves(trained[b])))

    assert diff(("native", 1), ("reference", 1)) < 1e-6
    assert diff(("native", 1), ("reference", 0)) > 1e-3


def test_other_random_keys_fall_back_to_the_xla_engine():
    """draws.h reproduces partitionable threefry only: with JAX set otherwise, shift and dropout variants say why."""
    assert library.problem(variant("change4_relu_dropout")) == ""  # JAX's default
    jax.config.update("jax_threefry_partitionable", False)
    try:
        assert "threefry" in library.problem(variant("change4_relu_dropout"))
        assert library.problem(variant("lecun1989")) == ""  # nothing drawn
    finally:
        jax.config.update("jax_threefry_partitionable", True)
