"""The native engine's per-step scalars (schedule.step_scalars, numpy over the epoch) against their
definition one step at a time (step_scalars_by_step): the same bits for every variant of params.yaml,
at the first, a middle and the last epoch, and past the schedule's end."""

import numpy as np
import pytest
from helpers import VARIANTS, variant

from lecun1989.training import schedule


@pytest.mark.parametrize("name", VARIANTS)
@pytest.mark.parametrize("n_train", [7291, 50000])
def test_step_scalars_are_the_step_by_step_definition_bit_for_bit(name, n_train):
    v = variant(name)
    for epoch in sorted({0, 1, v.epochs // 2, v.epochs - 1, v.epochs}):
        want = schedule.step_scalars_by_step(v, n_train, epoch, n_train)
        got = schedule.step_scalars(v, n_train, epoch, n_train)
        assert got.dtype == np.float32 and got.shape == (n_train, 3)
        assert got.view(np.uint32).tolist() == want.view(np.uint32).tolist(), f"{name}, epoch {epoch}"


def test_every_schedule_and_optimizer_is_covered():
    kinds = {(variant(n).lr_schedule, variant(n).optimizer) for n in VARIANTS}
    assert {s for s, _ in kinds} == {"constant", "linear", "geometric_per_epoch"}
    assert "adamw" in {o for _, o in kinds}
