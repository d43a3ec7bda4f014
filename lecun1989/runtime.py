"""The environment, read in this one module (LECUN1989_TRACEBACK aside, below), and the process-wide
JAX settings a stage applies once.

A stage (and the benchmark, and the tests) calls `configure()` at its start, before JAX computes
anything; no other module of the package reads the environment or changes JAX's global settings.

  LECUN1989_ENGINE      auto (default: native where it can run, else xla) | native | xla
  LECUN1989_RUNS        threads (default on the CPU) | vectorized (default on accelerators)
  LECUN1989_JAX_CACHE   JAX's compilation cache folder, or 0 for none (default: per-user cache)
  LECUN1989_NATIVE_CACHE  the native engine's build folder (default: per-user cache)
  LECUN1989_DOWNLOAD_CACHE  where the checked USPS download is kept (default: per-user cache)
  LECUN1989_XLA_FLAGS   0: XLA's own CPU defaults instead of XLA_CPU_FLAGS below
  LECUN1989_TRACEBACK   1: a stage's error prints its traceback too, above its one line (read by
                        pipeline/errors.py, which every stage runs and which imports nothing of this)
  CXX                   the native engine's compiler (default g++)
  JAX_COORDINATOR_ADDRESS  host:port of process 0: train over several processes (training/distributed.py),
  LECUN1989_NUM_PROCESSES, LECUN1989_PROCESS_ID  with this many processes and this one's id (else
                        JAX's own cluster detection finds them)
"""

import logging
import os
from functools import cache
from pathlib import Path

import platformdirs

from lecun1989.pipeline.errors import PipelineError

log = logging.getLogger(__name__)

JAX_CACHE_ENV = "LECUN1989_JAX_CACHE"
ENGINES = {"auto": "native where it can run, else xla", "native": "the C++ engine", "xla": "fastnet on XLA"}
RUNS = {
    "threads": "one program per run, runs on one thread per CPU core",
    "vectorized": "runs vmapped in one program, sharded over all devices",
}
# YNNPACK for XLA's matmuls only; `python tools/bench.py --flags` measured it faster on 2-core machines.
XLA_CPU_FLAGS = ("--xla_cpu_experimental_ynn_fusion_type=dot",)


class EnvironmentSettingError(PipelineError):
    label = "environment error"


def _choice(name: str, allowed: dict, default: str) -> str:
    value = os.environ.get(name, "") or default
    if value not in allowed:
        choices = "; ".join(f"{k} ({v})" for k, v in allowed.items())
        raise EnvironmentSettingError(f"{name}={value!r} is not a choice: set it to one of {choices}, or unset it")
    return value


def engine() -> str:
    """The engine asked for (LECUN1989_ENGINE): auto, native or xla."""
    return _choice("LECUN1989_ENGINE", ENGINES, "auto")


def runs_mode(backend: str) -> tuple[str, str]:
    """(mode, why): LECUN1989_RUNS when set, else vectorized on an accelerator or over several
    processes, and threads on the CPU."""
    several = bool(os.environ.get("JAX_COORDINATOR_ADDRESS"))
    mode = _choice("LECUN1989_RUNS", RUNS, "threads" if backend == "cpu" and not several else "vectorized")
    if several and mode == "threads":
        raise EnvironmentSettingError(
            "LECUN1989_RUNS=threads trains every run in every process under JAX_COORDINATOR_ADDRESS: unset one of them"
        )
    why = f"LECUN1989_RUNS={mode}" if os.environ.get("LECUN1989_RUNS") else ("several processes" if several else f"default on {backend}")
    return mode, why


def _whole_number(name: str, least: int) -> int | None:
    value = os.environ.get(name, "")
    if value and not (value.isascii() and value.isdigit() and len(value) <= 6):
        raise EnvironmentSettingError(
            f"{name}={value!r} is not a whole number in ASCII digits: set it to the process count or this process's id (0, 1, ...)"
        )
    if value and int(value) < least:
        raise EnvironmentSettingError(f"{name}={value} is less than {least}: set it to {least} or more, or unset it")
    return int(value) if value else None


def processes() -> tuple[str, int | None, int | None] | None:
    """(coordinator address, process count, this process's id) when JAX_COORDINATOR_ADDRESS asks for
    several processes, else None; count and id None: JAX's cluster detection finds them."""
    address = os.environ.get("JAX_COORDINATOR_ADDRESS")
    if not address:
        return None
    count, pid = _whole_number("LECUN1989_NUM_PROCESSES", 1), _whole_number("LECUN1989_PROCESS_ID", 0)
    if count is not None and pid is not None and pid >= count:
        raise EnvironmentSettingError(f"LECUN1989_PROCESS_ID={pid} is not below LECUN1989_NUM_PROCESSES={count}: ids run 0 to {count - 1}")
    runs_mode("cpu")  # refuses LECUN1989_RUNS=threads there
    return address, count, pid


def compiler() -> str:
    return os.environ.get("CXX") or "g++"


def cache_dir(name: str, env: str) -> Path:
    """$env if set, else the per-user cache folder lecun1989/<name> ($XDG_CACHE_HOME or ~/.cache on Linux)."""
    return Path(os.environ.get(env) or Path(platformdirs.user_cache_dir("lecun1989")) / name)


def native_cache() -> Path:
    return cache_dir("native", "LECUN1989_NATIVE_CACHE")


def download_cache() -> Path:
    """Where checked downloads are kept for the next run (the USPS sdist)."""
    return cache_dir("downloads", "LECUN1989_DOWNLOAD_CACHE")


def interactive() -> bool:
    """Whether progress bars are wanted on a terminal (not under CI)."""
    return not os.environ.get("CI")


def subprocess_env(bin_dir: Path) -> dict:
    """This environment for a child pipeline run: bin_dir first on PATH, DVC's analytics off."""
    return {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}", "DVC_NO_ANALYTICS": "1"}


def _set_xla_flags() -> None:
    if os.environ.get("LECUN1989_XLA_FLAGS") != "0":  # a user's own XLA_FLAGS come last and win
        os.environ["XLA_FLAGS"] = " ".join([*XLA_CPU_FLAGS, os.environ.get("XLA_FLAGS", "")]).strip()


def _use_jax_cache(jax) -> None:
    """JAX's persistent compilation cache in the per-user folder: a stage loads what earlier stages
    compiled (a loaded program is the program that was compiled: the bits do not change). A folder
    set through JAX itself (JAX_COMPILATION_CACHE_DIR, jax.config) is left as it is."""
    if os.environ.get(JAX_CACHE_ENV) == "0" or jax.config.jax_compilation_cache_dir:
        return
    folder = cache_dir("jax", JAX_CACHE_ENV)
    try:  # else JAX would warn once per program it compiles
        folder.mkdir(parents=True, exist_ok=True)
        if not os.access(folder, os.W_OK):
            raise PermissionError("not writable")
    except OSError as e:
        log.warning(f"JAX compile cache off: cannot write {folder} ({e}); set {JAX_CACHE_ENV} to a writable folder, or 0")
        return
    jax.config.update("jax_compilation_cache_dir", str(folder))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)  # a stage compiles dozens of small programs


@cache
def configure() -> None:
    """XLA's CPU flags (before JAX starts its backend), the compile cache, and full float32 matmuls
    on accelerators (GPUs default to TF32: 1.8e-5 off the reference after 100 steps on an H100)."""
    _set_xla_flags()
    import jax

    _use_jax_cache(jax)
    if jax.default_backend() != "cpu" and "JAX_DEFAULT_MATMUL_PRECISION" not in os.environ:
        jax.config.update("jax_default_matmul_precision", "highest")
