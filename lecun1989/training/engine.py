"""The engine interface: how one run trains and predicts, whatever computes it.

An engine trains one run (one initialisation seed on one training set) and keeps that run's State
in its own layout: the XLA engine in fastnet's map-major layout (xla.py), the native engine in the
C++ kernel's flat vectors (native/native_engine.py), the tests' reference engine in the Flax model's pytree
(tests/reference_engine.py). Parameters cross into the Flax layout only where a model file is written
(`params`); every engine starts from the same Flax initialisation (`init_flax`) and draws the same
shifts and dropout masks (draws.py). The XLA and reference engines also offer scan_epoch, the same
epoch as a traceable function.

Which engine trains is chosen by engine_choice.py from the stage's request (runtime.engine()) and
made by engines.py; runs.py runs the seeds of a variant side by side.
"""

from typing import NamedTuple, Protocol, runtime_checkable

import jax

from lecun1989.network import init


class State(NamedTuple):
    params: object  # in the engine's layout
    opt: object  # the optimizer's state, in the engine's layout
    key: jax.Array  # the run's stream of shifts and dropout masks


@runtime_checkable
class Engine(Protocol):
    name: str  # xla, native, ...: recorded in the model file
    built_for: str  # what computes it, e.g. XLA (jax <version>) on cpu

    def init(self, seed: int) -> State:
        """The run's initial State (params, opt, key), all in the engine's layout."""

    def epoch(self, state: State, epoch: int, X, Y, h=None) -> State:
        """One pass over (X, Y) in order, batch 1, compiled by the engine (h: SDLM's curvature
        before the epoch, Flax layout)."""

    def predict(self, params, X):
        """The outputs (n, 10) without dropout or shift; traceable by jit."""

    def params(self, state: State) -> dict:
        """The run's parameters in the Flax layout, for the model file."""


def init_flax(variant, seed: int) -> tuple[dict, jax.Array]:
    """A run's initial parameters (the Flax model's pytree, network/init.py: the same bits on every
    machine) and its data key, from its seed."""
    init_key, data_key = jax.random.split(jax.random.PRNGKey(seed))
    return init.init_params(variant, init_key), data_key
