"""Compiles the native engine (epoch.cc, predict.cc, curvature.cc) once, into a per-user cache
(runtime.native_cache(): $LECUN1989_NATIVE_CACHE, else the per-user cache's lecun1989/native).

It is compiled for one fixed instruction set per architecture, never -march=native: x86-64-v3 (AVX2
and FMA, on x86 CPUs since 2013-2015) or armv8-a, with -ffp-contract=off, so that the compiler fuses
no multiply-add the code does not write (simd.h). The engine's results are then the same bits on
every such CPU, whatever its vector width. An x86 CPU without AVX2 and FMA trains on the XLA engine.

The library's name carries a hash of the sources (codes.h, written from codes.py, among them), the
flags, the compiler's identity (its predefined macros for the target) and jaxlib's version, so an
edited source or another compiler builds a new one and never loads a stale one; copies of the
repository (a queued `dvc exp run`, `make verify`'s clone) share one build. `make venv` builds it
(`python -m lecun1989.training.native.build`); otherwise the first Trainer or Predictor that wants it does.
The compiler is runtime.compiler() ($CXX, else g++): g++ 12 or newer or clang++ (the kernels use
__builtin_shufflevector, which GCC has since 12). Where it is missing or fails, load() says why in one line.

What the library computes is fixed by its arithmetic contract (contract()): the sources' digest, the
target, the flags and whether denormals are flushed. The engine record of every model and metrics file
(description()) names that contract and not the compiler, whose --version line is information only
(`make native` prints it, library.py logs it): `make verify` compares exactly when both sides name the
same contract, whichever compiler built each, and their outputs are the same bytes.

Beside each library, <library>.sha256 records its size and SHA-256 as the build wrote it. A library
is checked against that record before it is loaded, so a truncated or replaced file in the cache (which
would crash the process with SIGBUS or lack the engine's functions) is rebuilt instead of loaded;
`make native` says which it found: built, up to date, or rebuilt and why.
"""

import ctypes
import hashlib
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

from lecun1989 import runtime
from lecun1989.training.native import codes

HERE = Path(__file__).resolve().parent
SOURCES = (
    "epoch.cc",
    "predict.cc",
    "curvature.cc",
    "epoch.h",
    "curvature.h",
    "forward8.h",
    "net.h",
    "backward.h",
    "optimizers.h",
    "simd.h",
    "draws.h",
)
TARGETS = {"x86_64": "-march=x86-64-v3", "aarch64": "-march=armv8-a"}  # by platform.machine()
# What x86-64-v3 adds to the x86-64 baseline, as /proc/cpuinfo names it (lzcnt is "abm").
X86_64_V3 = ("avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe", "xsave")
KERNEL_FLAGS = ("-O3", "-ffp-contract=off", "-fno-math-errno", "-std=c++17")  # for any target (tests/driver.cc too)
FLAGS = (*KERNEL_FLAGS, "-shared", "-fPIC")
KEEP_DENORMALS = "-DLECUN1989_KEEP_DENORMALS"  # simd.h: a build that does not flush (tests/test_bits.py's)


class BuildError(Exception):
    """Why the native engine could not be built, in one line."""


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=300, **kw)
    except FileNotFoundError:
        raise BuildError(f"no C++ compiler {cmd[0]!r} (install g++, or set CXX)") from None
    except subprocess.TimeoutExpired:
        raise BuildError(f"{cmd[0]} took more than 300 s") from None


def cpu_problem(machine: str | None = None, cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """Why this CPU cannot run the library ("" if it can)."""
    machine = machine or platform.machine()
    if machine not in TARGETS:
        return f"no native build for {machine} CPUs (only {' and '.join(TARGETS)})"
    if machine != "x86_64":
        return ""  # armv8-a: fused multiply-add and 128-bit vectors in every CPU
    try:
        flags = next((line.split(":", 1)[1].split() for line in cpuinfo.read_text().splitlines() if line.startswith("flags")), [])
    except OSError:
        return f"cannot read {cpuinfo} to check for AVX2 and FMA"
    missing = [f for f in X86_64_V3 if f not in flags]
    return f"this CPU lacks {', '.join(missing)} of x86-64-v3 (AVX2 + FMA)" if missing else ""


def march() -> str:
    """The instruction set the library is compiled for on this machine."""
    return TARGETS[platform.machine()]


def library_path() -> Path:
    why_not = cpu_problem()
    if why_not:
        raise BuildError(why_not)
    cxx = runtime.compiler()
    probe = _run([cxx, march(), "-dM", "-E", "-x", "c++", "-"], input="")
    if probe.returncode:
        raise BuildError(f"{cxx} {march()} failed: {_first_line(probe.stderr)}")
    key = hashlib.sha256()
    for part in (
        *[data for _, data in _sources()],
        " ".join((march(), *FLAGS)).encode(),
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


def record_path(library: Path) -> Path:
    return library.with_name(library.name + ".sha256")


def _record_of(data: bytes) -> str:
    return f"{len(data)} {hashlib.sha256(data).hexdigest()}\n"


def damage(library: Path) -> str:
    """Why the library in the cache must not be loaded ("" when it is the file its build wrote)."""
    try:
        recorded = record_path(library).read_text().split()
        data = library.read_bytes()
    except FileNotFoundError:
        return "has no record of its build"
    except (OSError, UnicodeDecodeError) as e:
        return f"cannot be read with the record of its build ({e.strerror if isinstance(e, OSError) else e})"
    if len(recorded) != 2:
        return f"has a record of its build that is not one ({record_path(library).name})"
    size, digest = _record_of(data).split()
    if size != recorded[0]:
        return f"is {size} bytes, {recorded[0]} when built (truncated or replaced)"
    if digest != recorded[1]:
        return "has a SHA-256 other than the one recorded when it was built (damaged or replaced)"
    return ""


def _compile(target: Path) -> None:
    import jax

    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:  # written aside, then renamed: parallel builds are safe
        out = Path(tmp) / target.name
        (Path(tmp) / "codes.h").write_text(codes.header())
        units = [str(HERE / s) for s in SOURCES if s.endswith(".cc")]
        done = _run([runtime.compiler(), march(), *FLAGS, "-I", tmp, "-isystem", jax.ffi.include_dir(), *units, "-o", str(out)])
        if done.returncode:
            raise BuildError(f"{runtime.compiler()} failed on the native engine's sources: {_first_line(done.stderr)}")
        record = Path(tmp) / record_path(target).name
        record.write_text(_record_of(out.read_bytes()))
        os.replace(record, record_path(target))  # the record first: a reader never trusts an old record
        os.replace(out, target)


def ensure() -> tuple[Path, str]:
    """(the library for this machine, what was found): compiled if missing, rebuilt if damaged."""
    target = library_path()
    for path in (target, record_path(target)):
        if path.is_symlink() or (path.exists() and not path.is_file()):
            what = "a symlink" if path.is_symlink() else "a folder" if path.is_dir() else "not a regular file"
            raise BuildError(f"{path} is {what}, where the build writes a file: remove it (rm -r {path}) and run make native")
    found = "built" if not target.exists() else damage(target)
    if target.exists() and not found:
        return target, "up to date"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _compile(target)
    except OSError as e:
        raise BuildError(
            f"cannot write the build cache {target.parent} ({e.strerror or e}): set LECUN1989_NATIVE_CACHE to a writable folder"
        ) from None
    return target, found if found == "built" else f"rebuilt: the cached library {found}"


def build() -> Path:
    """The library for this machine, compiled if it is not there yet or damaged."""
    return ensure()[0]


def _sources() -> list[tuple[str, bytes]]:
    """(name, bytes) of every source the library is compiled from, codes.h as the build writes it."""
    return [*((s, (HERE / s).read_bytes()) for s in SOURCES), ("codes.h", codes.header().encode())]


def sources_digest() -> str:
    """The first 16 hex digits of a SHA-256 over the sources' names and SHA-256s (the same on every machine)."""
    key = hashlib.sha256()
    for name, data in _sources():
        key.update(f"{name} {hashlib.sha256(data).hexdigest()}\n".encode())
    return key.hexdigest()[:16]


def contract() -> dict[str, str]:
    """The library's arithmetic contract: what fixes the sequence of IEEE-754 operations it performs.
    The same sources, target, flags and denormal handling give the same bits whichever compiler builds
    them (make check-bits compares g++ and clang builds of several versions); the compiler is not in it."""
    return {
        "sources": sources_digest(),
        "target": march(),
        "flags": " ".join(KERNEL_FLAGS),
        "denormals": "kept" if KEEP_DENORMALS in FLAGS else "flushed to zero",  # simd.h's FlushDenormals
    }


def compiler_banner() -> str:
    """The compiler's first --version line: information about the build (logged), not part of its record."""
    try:
        version = _run([runtime.compiler(), "--version"]).stdout.splitlines() or ["?"]
    except BuildError as e:
        return f"? ({e})"
    return version[0].strip()


def description() -> str:
    """What the library is built for, as the engine record of a model and its metrics: its contract,
    "sources <digest>, target <-march>, flags <flags>, denormals <how>" (lecun1989/reporting/compare.py
    reads it back). No compiler: the outputs are the same bytes whichever compiler built the contract."""
    return ", ".join(f"{k} {v}" for k, v in contract().items())


def load() -> ctypes.CDLL:
    path = build()
    try:
        lib = ctypes.cdll.LoadLibrary(str(path))
        lib.lecun1989_train_epoch, lib.lecun1989_predict, lib.lecun1989_curvature  # noqa: B018 (the entry points are there)
    except (OSError, AttributeError) as e:
        raise BuildError(f"{path} does not load ({e}): delete it (rm {path}) and run make native") from None
    return lib


def main():
    try:
        path, found = ensure()
        load()  # a library that is what its build wrote but does not load (another jaxlib) says so here
        print(f"native CPU engine: {path} ({found}), compiled by {compiler_banner()}")
    except BuildError as e:  # not an error of the set-up: training runs on the XLA engine
        print(f"native CPU engine not built ({e}); training will use the XLA engine", file=sys.stderr)


if __name__ == "__main__":
    main()
