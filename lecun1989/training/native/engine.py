"""The native engine from JAX: one training epoch of one seed as one XLA FFI call (epoch.cc), and
the outputs on many digits (predict.cc) for evaluation.

Inputs and outputs are the XLA engine's: fastnet's parameters and optax's state over them. JAX
draws everything random (shifts, dropout masks) and computes the per-step optimizer scalars from
optax's own schedule and counts; the C++ side runs the steps. `choose` picks the engine.
"""

import os
import sys
import threading

import jax
import jax.numpy as jnp
import numpy as np
import optax

from lecun1989.pipeline.errors import PipelineError
from lecun1989.training.native import build, layout
from lecun1989.training.optimizers import ADAM_B1, ADAM_B2, ADAM_EPS, learning_rate
from lecun1989.training.sdlm import SdlmState

TARGET, PREDICT_TARGET = "lecun1989_train_epoch", "lecun1989_predict"
ENV = "LECUN1989_ENGINE"  # auto (the default): native where it can run, else xla | native | xla
DEFAULT = "auto"
ACTIVATIONS = {"tanh": 0, "relu": 1, "scaled_tanh": 2}
HEADS = {"tanh": 0, "linear": 1, "scaled_tanh": 2}
LOSSES = {"mse": 0, "softmax_xent": 1}
OPTIMIZERS = {"sgd": 0, "adamw": 1, "sdlm": 2}  # sdlm: p - lr * scale * g, scale = 1 / (mu + h) per weight
SCALED_SGD = OPTIMIZERS["sdlm"]

_lock = threading.Lock()
_build_problem = None  # None: not tried yet; "": built and registered; else why not
_said = set()


def _library_problem() -> str:
    """The empty string once the library is built and registered with XLA, else why it could not be."""
    global _build_problem
    with _lock:
        if _build_problem is None:
            try:
                lib = build.load()
                jax.ffi.register_ffi_target(TARGET, jax.ffi.pycapsule(lib.lecun1989_train_epoch), platform="cpu")
                jax.ffi.register_ffi_target(PREDICT_TARGET, jax.ffi.pycapsule(lib.lecun1989_predict), platform="cpu")
                _build_problem = ""
            except (build.BuildError, OSError) as e:
                _build_problem = str(e)
    return _build_problem


def problem(variant, vectorized: bool = False) -> str:
    """Why the native engine cannot train this variant here ("" if it can)."""
    if jax.default_backend() != "cpu":
        return f"JAX runs on {jax.default_backend()}, the native engine on the CPU only"
    if vectorized:
        return "runs are vectorized (LECUN1989_RUNS), the native engine trains one run per thread"
    for key, codes in (("activation", ACTIVATIONS), ("head", HEADS), ("loss", LOSSES), ("optimizer", OPTIMIZERS)):
        if getattr(variant, key) not in codes:
            return f"{key} {getattr(variant, key)!r} is not in the native engine"
    return _library_problem()


def choose(variant, vectorized: bool = False) -> str:
    """The engine, "native" or "xla", by $LECUN1989_ENGINE (default auto: native where it can run)."""
    wanted = os.environ.get(ENV, DEFAULT)
    if wanted not in ("auto", "native", "xla"):
        raise PipelineError(f"{ENV}={wanted!r}: use auto (the default: native where it can run), native, or xla")
    if wanted == "xla":
        return "xla"
    why_not = problem(variant, vectorized)
    if not why_not:
        return "native"
    if wanted == "native":
        raise PipelineError(f"{ENV}=native, but {why_not}; set {ENV}=xla (or unset it) to train on the XLA engine")
    if why_not not in _said:  # one line per reason and process
        _said.add(why_not)
        print(
            f"native CPU engine unavailable ({why_not}); training on the XLA engine, whose models differ from the native engine's in their last bits: fix the build (make native) or set {ENV}=xla to choose it",
            file=sys.stderr,
        )
    return "xla"


def predict(variant, fast_params, X):
    """The outputs (n, 10) of one run on X (n, 16, 16), traceable by jit."""
    out = jax.ShapeDtypeStruct((X.shape[0], 10), jnp.float32)
    codes = {"activation": np.int32(ACTIVATIONS[variant.activation]), "head": np.int32(HEADS[variant.head])}
    return jax.ffi.ffi_call(PREDICT_TARGET, out)(X, layout.pack(fast_params), **codes)


def _find(opt_state, kind):
    return next((s for s in opt_state if isinstance(s, kind)), None)


class NativeEpoch:
    """epoch(fast_params, opt_state, X, Y, shift, keep) -> (fast_params, opt_state), traceable by jit."""

    def __init__(self, variant, total_steps: int):
        self.variant = variant
        self.lr = learning_rate(variant, total_steps)

    def step_scalars(self, opt_state, n: int):
        """(n, 3): each step's learning rate and Adam's bias corrections, as optax computes them."""
        i = jnp.arange(n, dtype=jnp.int32)
        schedule, adam = _find(opt_state, optax.ScaleByScheduleState), _find(opt_state, optax.ScaleByAdamState)
        schedule = opt_state if isinstance(opt_state, SdlmState) else schedule  # sdlm counts its own steps
        lr = self.lr(schedule.count + i) if callable(self.lr) else jnp.full(n, self.lr, jnp.float32)
        bc1 = bc2 = jnp.ones(n, jnp.float32)
        if adam is not None:
            count = adam.count + 1 + i  # optax's safe_increment, before the update
            bc1, bc2 = 1 - ADAM_B1**count, 1 - ADAM_B2**count
        return jnp.stack([lr, bc1, bc2], axis=1).astype(jnp.float32)

    def __call__(self, fast_params, opt_state, X, Y, shift, keep, hessian=None):
        """hessian: sdlm's curvature estimate h in fastnet's layout (only for sdlm)."""
        n, steps = X.shape[0], self.step_scalars(opt_state, X.shape[0])
        keep = None if keep is None else keep.transpose(0, 2, 1)  # (map, position), as fastnet's h2
        if isinstance(opt_state, SdlmState):  # the per-weight scale 1 / (mu + h); 0 on the padding
            scale = jax.tree.map(lambda h: 1.0 / (self.variant.sdlm.mu + h), hessian)
            state = layout.pack(scale)[None]
            params, _ = self.run(layout.pack(fast_params), state, X, Y, shift, keep, steps, SCALED_SGD)
            return layout.unpack(params), opt_state._replace(count=opt_state.count + n)
        adam = _find(opt_state, optax.ScaleByAdamState)
        state = jnp.stack([layout.pack(adam.mu), layout.pack(adam.nu)]) if adam else jnp.zeros((0, layout.N_PARAMS), jnp.float32)
        params, state = self.run(layout.pack(fast_params), state, X, Y, shift, keep, steps, OPTIMIZERS[self.variant.optimizer])
        new_state = []
        for s in opt_state:  # optax's counts advance by the epoch's steps; Adam's moments come back
            if isinstance(s, optax.ScaleByAdamState):
                s = s._replace(count=s.count + n, mu=layout.unpack(state[0]), nu=layout.unpack(state[1]))
            elif isinstance(s, optax.ScaleByScheduleState):
                s = s._replace(count=s.count + n)
            new_state.append(s)
        return layout.unpack(params), tuple(new_state)

    def run(self, params, state, X, Y, shift, keep, steps, optimizer: int):
        """The FFI call on the engine's flat vectors: params (N_PARAMS,), state (rows, N_PARAMS) (Adam:
        mu, nu; optimizer 2: the per-weight step scale), keep (n, 12, 16) or None, steps (n, 3)."""
        v = self.variant
        out = (jax.ShapeDtypeStruct(params.shape, jnp.float32), jax.ShapeDtypeStruct(state.shape, jnp.float32))
        return jax.ffi.ffi_call(TARGET, out)(
            X,
            Y,
            shift.astype(jnp.int32),
            jnp.zeros((0, 12, 16), bool) if keep is None else keep,
            steps,
            params,
            state,
            activation=np.int32(ACTIVATIONS[v.activation]),
            head=np.int32(HEADS[v.head]),
            loss=np.int32(LOSSES[v.loss]),
            optimizer=np.int32(optimizer),
            max_shift=np.int32(v.shift_pixels),
            keep_prob=np.float32(1.0 - v.dropout),
            b1=np.float64(ADAM_B1),
            b2=np.float64(ADAM_B2),
            eps=np.float64(ADAM_EPS),
            weight_decay=np.float64(v.weight_decay),
        )
