"""Compiles the native engine (epoch.cc, predict.cc) for this machine's CPU, once, into a per-user
cache (runtime.native_cache(): $LECUN1989_NATIVE_CACHE, else the per-user cache's lecun1989/native).

The library's name carries a hash of the sources (codes.h, written from codes.py, among them), the flags, the compiler's identity, the instruction
set it targets (its predefined macros under -march=native) and jaxlib's version, so an edited source,
another compiler or another CPU builds a new one and never loads a stale one; copies of the
repository (a queued `dvc exp run`, `make verify`'s clone) share one build. `make venv` builds it
(`python -m lecun1989.training.native.build`); otherwise the first Trainer that wants it does.
The compiler is runtime.compiler() ($CXX, else g++). Where it is missing or fails, load() says why in one line.
"""

import ctypes
import hashlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from lecun1989 import runtime
from lecun1989.training.native import codes

HERE = Path(__file__).resolve().parent
SOURCES = ("epoch.cc", "predict.cc", "net.h", "backward.h", "optimizers.h", "simd.h", "draws.h")
FLAGS = ("-O3", "-march=native", "-ffp-contract=fast", "-fno-math-errno", "-std=c++17", "-shared", "-fPIC")


class BuildError(Exception):
    """Why the native engine could not be built, in one line."""


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=300, **kw)
    except FileNotFoundError:
        raise BuildError(f"no C++ compiler {cmd[0]!r} (install g++, or set CXX)") from None
    except subprocess.TimeoutExpired:
        raise BuildError(f"{cmd[0]} took more than 300 s") from None


def library_path() -> Path:
    cxx = runtime.compiler()
    probe = _run([cxx, *FLAGS[:2], "-dM", "-E", "-x", "c++", "-"], input="")
    if probe.returncode:
        raise BuildError(f"{cxx} -march=native failed: {_first_line(probe.stderr)}")
    key = hashlib.sha256()
    for part in (
        *[(HERE / s).read_bytes() for s in SOURCES],
        codes.header().encode(),
        " ".join(FLAGS).encode(),
        cxx.encode(),
        probe.stdout.encode(),
        _jax_version().encode(),
    ):
        key.update(hashlib.sha256(part).digest())
    return runtime.native_cache() / f"lecun1989_native-{key.hexdigest()[:16]}.so"


def _jax_version() -> str:
    import jaxlib

    return jaxlib.__version__


def _first_line(text: str) -> str:
    lines = [line for line in text.splitlines() if "error" in line] or text.splitlines() or ["(no output)"]
    return lines[0].strip()


def build() -> Path:
    """The library for this machine, compiled if it is not there yet."""
    import jax

    target = library_path()
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:  # written aside, then renamed: parallel builds are safe
        out = Path(tmp) / target.name
        (Path(tmp) / "codes.h").write_text(codes.header())
        units = [str(HERE / s) for s in SOURCES if s.endswith(".cc")]
        done = _run([runtime.compiler(), *FLAGS, "-I", tmp, "-isystem", jax.ffi.include_dir(), *units, "-o", str(out)])
        if done.returncode:
            raise BuildError(f"{runtime.compiler()} failed on the native engine's sources: {_first_line(done.stderr)}")
        os.replace(out, target)
    return target


def description() -> str:
    """What the library is built with, for the metrics: the compiler's first --version line and the flags."""
    version = _run([runtime.compiler(), "--version"]).stdout.splitlines() or ["?"]
    return f"{version[0].strip()} {' '.join(f for f in FLAGS if f.startswith(('-O', '-m', '-ff')))}"


def load() -> ctypes.CDLL:
    return ctypes.cdll.LoadLibrary(str(build()))


def main():
    try:
        print(f"native CPU engine: {build()}")
    except BuildError as e:  # not an error of the set-up: training runs on the XLA engine
        print(f"native CPU engine not built ({e}); training will use the XLA engine", file=sys.stderr)


if __name__ == "__main__":
    main()
