"""The training engines by name, and the one a variant's runs train on: engine_choice.choose's
answer, made, with the reason it is not the native engine said once per process."""

import logging
from functools import cache

from lecun1989.training.engine import Engine
from lecun1989.training.engine_choice import choose

log = logging.getLogger(__name__)


def make_engine(name: str, variant, n_train: int) -> Engine:
    """The engine called name (xla or native) for this variant and training-set size."""
    if name == "xla":
        from lecun1989.training.xla import XlaEngine

        return XlaEngine(variant, n_train)
    from lecun1989.training.native.native_engine import NativeEngine

    return NativeEngine(variant, n_train)


@cache
def _say(line: str) -> None:  # once per process
    log.warning(line)


def training_engine(variant, n_train: int, requested: str, vectorized: bool, name: str = "variant") -> Engine:
    """The engine requested (auto, native or xla: runtime.engine()'s choices) where it can run,
    else the XLA engine, saying why once."""
    chosen, why_not = choose(variant, requested, vectorized)
    if why_not:
        from lecun1989.training.native import library

        native = "LECUN1989_RUNS=threads" if vectorized else "" if library.variant_problem(variant) else "make native"
        _say(
            f"{name}: native CPU engine unavailable ({why_not}); training on the XLA engine (the model records it): "
            + (f"{native} for the native engine, or " if native else "")
            + "LECUN1989_ENGINE=xla to choose XLA"
        )
    return make_engine(chosen, variant, n_train)
