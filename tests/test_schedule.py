"""The per-step optimizer scalars against their definition, schedule.step_learning_rate and
schedule.bias_corrections (float64, one step at a time): the native engine's schedule.step_scalars
(numpy over the epoch) with the same bits, and the optax engines' schedule.learning_rate within
float32's rounding, for every variant of params.yaml at the first, a middle and the last epoch, and
past the schedule's end."""

import math

import jax.numpy as jnp
import numpy as np
import pytest
from helpers import VARIANTS, variant

from lecun1989.training import schedule


def step_scalars_by_step(v, n_train: int, epoch: int, n: int) -> np.ndarray:
    """step_scalars one step at a time, from the definition."""
    steps = range(epoch * n_train, epoch * n_train + n)
    rows = [(schedule.step_learning_rate(v, n_train, i), *schedule.bias_corrections(v, i)) for i in steps]
    return np.array(rows, np.float64).astype(np.float32)


def epochs_checked(v) -> list[int]:
    return sorted({0, 1, v.epochs // 2, v.epochs - 1, v.epochs})


@pytest.mark.parametrize("name", VARIANTS)
@pytest.mark.parametrize("n_train", [7291, 50000])
def test_step_scalars_are_the_step_by_step_definition_bit_for_bit(name, n_train):
    v = variant(name)
    for epoch in epochs_checked(v):
        want = step_scalars_by_step(v, n_train, epoch, n_train)
        got = schedule.step_scalars(v, n_train, epoch, n_train)
        assert got.dtype == np.float32 and got.shape == (n_train, 3)
        assert got.view(np.uint32).tolist() == want.view(np.uint32).tolist(), f"{name}, epoch {epoch}"


@pytest.mark.parametrize("name", VARIANTS)
def test_the_optax_schedule_is_the_definition_in_float32(name):
    """Each float32 operation rounds once; the geometric schedule raises float32's rounded factor to
    the epoch's power, which multiplies that rounding by up to the power."""
    v, n_train = variant(name), 7291
    lr = schedule.learning_rate(v, n_train)
    for epoch in epochs_checked(v):
        for step in (epoch * n_train, epoch * n_train + n_train // 2, (epoch + 1) * n_train - 1):
            want = schedule.step_learning_rate(v, n_train, step)
            if not callable(lr):
                assert lr == want
                continue
            got = float(lr(jnp.int32(step)))
            rounding = (4 + min(epoch, v.epochs)) * float(np.finfo(np.float32).eps)
            assert got == pytest.approx(want, rel=rounding), f"{name}, step {step}"


def test_bias_corrections_are_adams():
    adam, sgd = variant("change2_adamw"), variant("lecun1989")
    assert schedule.bias_corrections(adam, 0) == (1.0 - schedule.ADAM_B1, 1.0 - schedule.ADAM_B2)
    assert schedule.bias_corrections(adam, 9) == (1.0 - math.pow(0.9, 10), 1.0 - math.pow(0.999, 10))
    assert schedule.bias_corrections(sgd, 9) == (1.0, 1.0)


def test_every_schedule_and_optimizer_is_covered():
    kinds = {(variant(n).lr_schedule, variant(n).optimizer) for n in VARIANTS}
    assert {s for s, _ in kinds} == {"constant", "linear", "geometric_per_epoch"}
    assert "adamw" in {o for _, o in kinds}
