"""The native library, built (build.py) and registered with XLA once per process, and whether the
native engine can run a variant here."""

import logging
import threading

import jax

from lecun1989.training.native import build, codes

TRAIN_TARGET, PREDICT_TARGET, CURVATURE_TARGET = "lecun1989_train_epoch", "lecun1989_predict", "lecun1989_curvature"

log = logging.getLogger(__name__)
_lock = threading.Lock()
_problem = None  # None: not tried yet; "": built and registered; else why not


def _registered() -> str:
    """The empty string once the library is built and registered with XLA, else why it could not be."""
    global _problem
    with _lock:
        if _problem is None:
            try:
                lib = build.load()
                jax.ffi.register_ffi_target(TRAIN_TARGET, jax.ffi.pycapsule(lib.lecun1989_train_epoch), platform="cpu")
                jax.ffi.register_ffi_target(PREDICT_TARGET, jax.ffi.pycapsule(lib.lecun1989_predict), platform="cpu")
                jax.ffi.register_ffi_target(CURVATURE_TARGET, jax.ffi.pycapsule(lib.lecun1989_curvature), platform="cpu")
                _problem = ""
                log.info(f"native CPU engine compiled by {build.compiler_banner()} ({build.description()})")
            except (build.BuildError, OSError) as e:
                _problem = str(e)
    return _problem


def problem(variant) -> str:
    """Why the native engine cannot run this variant here ("" if it can)."""
    return variant_problem(variant) or _registered()


def variant_problem(variant) -> str:
    """Why the native engine cannot run this variant whatever is built ("" if it can, once built)."""
    if jax.default_backend() != "cpu":
        return f"JAX runs on {jax.default_backend()}, the native engine on the CPU only"
    for key, table in codes.BY_KEY.items():
        if getattr(variant, key) not in table:
            return f"{key} {getattr(variant, key)!r} is not in the native engine"
    if (variant.shift_pixels or variant.dropout) and not draws_as_jax():
        return "JAX's random keys are not its default partitionable threefry2x32, which the native engine's draws (draws.h) reproduce"
    return ""


def draws_as_jax() -> bool:
    """Whether jax.random draws as draws.h does: JAX's default keys (threefry2x32, partitionable)."""
    return jax.config.jax_default_prng_impl == "threefry2x32" and bool(jax.config.jax_threefry_partitionable)


def built_for() -> str:
    """What the loaded library was compiled for: its arithmetic contract (build.description())."""
    return build.description()
