"""The engine interface: how one run trains and predicts, whatever computes it.

An engine trains one run (one initialisation seed on one training set) and keeps that run's State
in its own layout: the reference engine in the Flax model's pytree (reference.py), the XLA engine in
fastnet's map-major layout (xla.py), the native engine in the C++ kernel's flat vectors
(native/native_engine.py). Parameters cross into the Flax layout only where a model file is written
(`params`); every engine starts from the same Flax initialisation (`init`).

    init(seed) -> State              State(params, opt, key), all in the engine's layout
    epoch(state, epoch, X, Y, h)     one pass over (X, Y) in order, batch 1, compiled by the engine
                                     (h: SDLM's curvature before the epoch, Flax layout)
    predict(params, X) -> (n, 10)    the outputs without dropout or shift; traceable by jit
    params(state) -> Flax params     for the model file
The XLA and reference engines also offer scan_epoch, the same epoch as a traceable function.

Which engine trains is chosen here (`choose`) from the stage's request (runtime.engine()); runs.py
makes the engine and runs the seeds of a variant side by side.
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp

from lecun1989.network import init
from lecun1989.pipeline.errors import PipelineError


class State(NamedTuple):
    params: object  # in the engine's layout
    opt: object  # the optimizer's state, in the engine's layout
    key: jax.Array  # the run's stream of shifts and dropout masks


def init_flax(variant, seed: int) -> tuple[dict, jax.Array]:
    """A run's initial parameters (the Flax model's pytree, network/init.py: the same bits on every
    machine) and its data key, from its seed."""
    init_key, data_key = jax.random.split(jax.random.PRNGKey(seed))
    return init.init_params(variant, init_key), data_key


def draws(key, step, max_shift: int):
    """The random choices of one training step: which shift (an index into fastnet.shifts) and the
    dropout key. Every engine uses these, so all of them see the same digits."""
    shift_key, dropout_key = jax.random.split(jax.random.fold_in(key, step))
    dx, dy = jax.random.randint(shift_key, (2,), -max_shift, max_shift + 1)
    return (dx + max_shift) * (2 * max_shift + 1) + (dy + max_shift), dropout_key


def epoch_draws(variant, key, epoch, n_train: int, n: int, masks: bool):
    """The epoch's shifts (n,) and dropout (keys, or (n, 16, 12) keep masks drawn as flax's Dropout
    draws them; None without dropout), drawn up front, vectorized: drawing them inside the step
    loop made the shift and dropout variants ~1.3-1.4x slower per step."""
    if not (variant.shift_pixels or variant.dropout):
        return jnp.zeros(n, jnp.int32), None
    steps = epoch * n_train + jnp.arange(n)
    shift, keys = jax.vmap(lambda i: draws(key, i, variant.shift_pixels))(steps)
    if not variant.dropout:
        return shift, None
    if masks:
        return shift, jax.vmap(lambda k: jax.random.bernoulli(k, 1.0 - variant.dropout, (16, 12)))(keys)
    return shift, keys


def choose(variant, requested: str, vectorized: bool) -> tuple[str, str]:
    """(engine, why not native or ""): requested is auto (native where it can run, else xla), native or xla."""
    from lecun1989.training.native import library

    if requested == "xla":
        return "xla", ""
    why_not = (
        "runs are vectorized (LECUN1989_RUNS), the native engine trains one run per thread" if vectorized else library.problem(variant)
    )
    if not why_not:
        return "native", ""
    if requested == "native":
        raise PipelineError(f"LECUN1989_ENGINE=native, but {why_not}; set LECUN1989_ENGINE=xla (or unset it) to train on the XLA engine")
    return "xla", why_not
