"""The native engine computes the same bits whatever compiles it and whatever runs it: 100 steps of
every variant of params.yaml give the same parameters and optimizer state, and SDLM's curvature
estimate (curvature.h) the same h as hessian_fixed.py, from
- the library training loads (g++, x86-64-v3), one built by clang++ for x86-64-v3 (whose engine record
  is the g++ build's: one arithmetic contract, so `make verify` compares the two exactly) and one built
  by clang++ for this CPU (-march=native: AVX-512 where it has it);
- the standalone driver (tests/driver.cc, no XLA) built by g++ and clang++, for x86-64-v3 and for this
  CPU (-march=native), by clang++-16 and clang++-19 for x86-64-v3, and cross-compiled for aarch64 and
  run under qemu-user.
g++ before 12 cannot build it (no __builtin_shufflevector): g++-11's build is refused in one line.
One more case, 2,000 steps of change4_relu_dropout, produces denormal numbers: the kernel flushes
them to zero as XLA does (simd.h's FlushDenormals), and a driver built not to flush gets other bits.
`make check-bits` runs this file (LECUN1989_CHECK_BITS=1; .ci/run calls it) and fails where a compiler
or qemu is missing; `make test` skips it (its builds take most of a minute)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from bits import (
    CROSS,
    CURVATURES,
    STEPS,
    build_driver,
    curvature_inputs,
    inputs,
    library_curvature,
    library_outputs,
    run_driver,
    write_curvature_inputs,
    write_inputs,
)
from helpers import VARIANTS

from lecun1989.network import fastnet, hessian_fixed
from lecun1989.reporting import compare
from lecun1989.training.native import build, layout

pytestmark = pytest.mark.skipif(os.environ.get("LECUN1989_CHECK_BITS") != "1", reason="make check-bits runs it")
HERE = Path(__file__).resolve().parent
OTHER_COMPILERS = ("clang++-16", "clang++-19")  # Debian 12's and Ubuntu 24.04's packages of those names
PACKAGES = ("g++-11", "clang", "clang-16", "clang-19", "g++-aarch64-linux-gnu", "qemu-user")  # .ci/run and ci.yml install these
DRIVERS = {  # name: (compiler, target or None for the library's, runner)
    "g++ x86-64-v3": ("g++", None, None),
    "g++ native": ("g++", "-march=native", None),
    "clang++ x86-64-v3": ("clang++", None, None),
    "clang++ native": ("clang++", "-march=native", None),
    **{f"{cxx} x86-64-v3": (cxx, None, None) for cxx in OTHER_COMPILERS},
    **{f"{arch} (qemu)": spec for arch, spec in CROSS.items()},
}


def need(*tools):
    gone = [t for t in tools if t and shutil.which(t) is None]
    if gone:
        pytest.fail(f"{', '.join(gone)} not installed: apt-get install {' '.join(PACKAGES)}")


DENORMAL = "change4_relu_dropout, 2000 steps"
CASES = {**{name: (name, STEPS) for name in VARIANTS}, DENORMAL: ("change4_relu_dropout", 2000)}


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bits")
    return {case: write_inputs(inputs(*CASES[case]), folder / f"{i}.in") for i, case in enumerate(CASES)}


@pytest.fixture(scope="module")
def reference(cases):
    """Every case through the library that training loads."""
    return {case: library_outputs(inputs(*CASES[case])) for case in cases}


@pytest.fixture(scope="module")
def curvature_cases(tmp_path_factory):
    folder = tmp_path_factory.mktemp("curvature")
    return {name: write_curvature_inputs(curvature_inputs(name), folder / f"{name}.in") for name in CURVATURES}


@pytest.fixture(scope="module")
def curvature_reference():
    """Every curvature case through the library that training loads."""
    return {name: library_curvature(curvature_inputs(name)) for name in CURVATURES}


def test_the_library_curvature_is_hessian_fixed(curvature_reference):
    for name, got in curvature_reference.items():
        case = curvature_inputs(name)
        h = hessian_fixed.gauss_newton_diagonal(fastnet.to_flax(layout.unpack(case["params"])), case["x"], case["activation"], case["head"])
        assert got == np.asarray(layout.pack(fastnet.to_fast(h))).tobytes(), name


def test_every_variant_trains_and_the_variants_differ(reference, cases):
    first = inputs(VARIANTS[0])
    assert reference[VARIANTS[0]][: first["params"].nbytes] != first["params"].tobytes()  # it trained
    assert len({reference[n] for n in ("lecun1989", "change1_softmax", "change2_adamw", "change4_relu_dropout", "lecun1989_paper")}) == 5


@pytest.mark.parametrize("name", DRIVERS)
def test_standalone_driver_gives_the_library_bits(name, cases, reference, curvature_cases, curvature_reference, tmp_path):
    cxx, target, runner = DRIVERS[name]
    need(cxx, runner)
    driver = build_driver(tmp_path / "driver", cxx, target, static=runner is not None)
    different = [v for v, f in cases.items() if run_driver(driver, f, runner) != reference[v]]
    different += [
        f"curvature {c}" for c, f in curvature_cases.items() if run_driver(driver, f, runner, curvature=True) != curvature_reference[c]
    ]
    assert not different, f"{name}: other bits for {different}"


def test_the_denormal_case_depends_on_flushing_denormals(cases, reference, tmp_path):
    keeping = build_driver(tmp_path / "keeping", flags=(*build.KERNEL_FLAGS, "-DLECUN1989_KEEP_DENORMALS"))
    assert run_driver(keeping, cases[DENORMAL]) != reference[DENORMAL]
    assert all(run_driver(keeping, cases[v]) == reference[v] for v in VARIANTS)  # the other cases never meet one


def library_by(cxx: str, out: Path, *target: str, cache: Path | None = None) -> str:
    """Every variant through a library that `cxx` builds (for `target`, else the library's), its bits in
    out/<variant>.out; returns its engine record."""
    need(cxx)
    env = {**os.environ, "CXX": cxx, "JAX_PLATFORMS": "cpu", **({"LECUN1989_NATIVE_CACHE": str(cache)} if cache else {})}
    done = subprocess.run([sys.executable, str(HERE / "bits.py"), str(out), *target], env=env, cwd=HERE, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    return (out / "record").read_text()


def test_library_built_by_clang_for_this_cpu_gives_the_same_bits(cases, reference, curvature_reference, tmp_path):
    library_by("clang++", tmp_path, "-march=native", cache=tmp_path / "cache")
    assert list((tmp_path / "cache").glob("lecun1989_native-*.so"))  # its own build, not the shared one
    different = [v for v in VARIANTS if (tmp_path / f"{v}.out").read_bytes() != reference[v]]
    different += [f"curvature {c}" for c in CURVATURES if (tmp_path / f"curvature_{c}.out").read_bytes() != curvature_reference[c]]
    assert not different, f"other bits for {different}"


def test_library_built_by_clang_has_the_g_build_record_and_verify_compares_them_exactly(cases, reference, tmp_path):
    """The build `CXX=clang++ make native` makes (in the shared cache, where .ci/run's clang++ verify-quick
    then finds it): the same bits, and the engine record of the library training loads (g++): one
    arithmetic contract, so metrics from the two are compared exactly (and model files are the same bytes)."""
    clang = library_by("clang++", tmp_path)
    different = [v for v in VARIANTS if (tmp_path / f"{v}.out").read_bytes() != reference[v]]
    assert not different, f"other bits for {different}"
    gxx = f"native engine ({build.description()})"
    assert clang == gxx and compare.parse_record(gxx).contract is not None
    exact, why = compare.comparison(
        {"v": {"engine": {"train": gxx, "evaluate": gxx}}}, {"v": {"engine": {"train": clang, "evaluate": clang}}}
    )
    assert exact, why


def test_gcc_11_cannot_build_it_and_says_so_in_one_line(tmp_path, monkeypatch):
    """simd.h and net.h use __builtin_shufflevector, which GCC has since 12: g++-11's build fails, and
    the one line that says why (training then runs on the XLA engine) names it."""
    need("g++-11")
    monkeypatch.setenv("CXX", "g++-11")
    monkeypatch.setenv("LECUN1989_NATIVE_CACHE", str(tmp_path))
    with pytest.raises(build.BuildError, match=r"^g\+\+-11 failed on the native engine's sources: .*__builtin_shufflevector"):
        build.ensure()
