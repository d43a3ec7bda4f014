"""Per-user caches of compiled code, shared by every stage, experiment and clone of the repository:
the native engine's library (native/build.py) and JAX's compiled programs.

Each stage is its own process and JAX compiles its programs afresh in each one: on the tests' tiny
data a train stage spent ~8 of its 13 s compiling. JAX's persistent compilation cache keeps them
on disk, keyed by the program, the flags, the device and the jax version, so a later stage, a
`dvc exp run` or a rerun loads what an earlier one compiled. A loaded program is the program that
was compiled: models and metrics come out bit-identical with the cache cold, warm or off (tested).
"""

import os
import sys
from pathlib import Path

JAX_CACHE_ENV = "LECUN1989_JAX_CACHE"  # a folder, or 0 for no cache


def user_cache_dir(name: str, env: str) -> Path:
    """$env, else $XDG_CACHE_HOME/lecun1989/<name>, else ~/.cache/lecun1989/<name>."""
    return Path(os.environ.get(env) or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "lecun1989" / name)


def use_jax_cache() -> None:
    """Turn on JAX's persistent compilation cache in the per-user folder, before the first compile.
    A folder set through JAX itself (JAX_COMPILATION_CACHE_DIR, jax.config) is left as it is."""
    import jax

    if os.environ.get(JAX_CACHE_ENV) == "0" or jax.config.jax_compilation_cache_dir:
        return
    folder = user_cache_dir("jax", JAX_CACHE_ENV)
    try:  # else JAX would warn once per program it compiles
        folder.mkdir(parents=True, exist_ok=True)
        if not os.access(folder, os.W_OK):
            raise PermissionError("not writable")
    except OSError as e:
        print(f"JAX compile cache off: cannot write {folder} ({e}); set {JAX_CACHE_ENV} to a writable folder, or 0", file=sys.stderr)
        return
    jax.config.update("jax_compilation_cache_dir", str(folder))
    # Every program, however quick to compile: a stage compiles dozens of small ones (~1 MB in all).
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
