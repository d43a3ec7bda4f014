"""A model file's outputs: every run's forward pass, on the native engine where it can run, else on
XLA (fastnet), with no optimizer or training code involved."""

import logging

import jax
import numpy as np

from lecun1989.network import fastnet
from lecun1989.training.engine_choice import choose
from lecun1989.training.threads import each_run, run_data

log = logging.getLogger(__name__)


class Predictor:
    """outputs(params, X): params stacked on a leading run axis (Flax layout, as in a model file)."""

    def __init__(self, variant, requested: str = "auto", name: str = "variant"):
        self.variant = variant
        self.engine, why_not = choose(variant, requested, vectorized=False)
        if why_not:
            log.warning(f"{name}: native CPU engine unavailable ({why_not}); evaluating on the XLA engine")
        if self.engine == "native":
            from lecun1989.training.native import layout, library
            from lecun1989.training.native.forward_pass import predict

            self.built_for = library.built_for()
            self._predict = jax.jit(lambda p, X: predict(variant, layout.pack(fastnet.to_fast(p)), X))
        else:
            self.built_for = f"XLA (jax {jax.__version__}) on {jax.default_backend()}"
            self._predict = jax.jit(lambda p, X: fastnet.predict_chunked(fastnet.to_fast(p), X, variant.activation, variant.head))

    @property
    def description(self) -> str:
        return f"{self.engine} engine ({self.built_for})"

    def outputs(self, params, X) -> np.ndarray:
        """(n_runs, n, 10): run i's outputs on X (its own X, for a list)."""
        n = len(jax.tree.leaves(params)[0])
        return np.stack(each_run(lambda i: np.asarray(self._predict(jax.tree.map(lambda a: a[i], params), run_data(X, i))), n))
