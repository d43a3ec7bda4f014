"""The native kernel's bits across compilers, instruction sets and CPUs: inputs for every variant of
params.yaml and for SDLM's curvature estimate in the file formats of driver.cc (beside this file, the
kernel as a standalone program, not part of the library), and builds of it (used by test_bits.py)."""

import subprocess
from pathlib import Path

import numpy as np
from helpers import ROOT, tiny_data

from lecun1989.pipeline.schema import load_params
from lecun1989.training.native import build, codes, layout, library
from lecun1989.training.schedule import ADAM_B1, ADAM_B2, ADAM_EPS

STEPS = 100
NATIVE = build.HERE
DRIVER = Path(__file__).resolve().parent / "driver.cc"
CROSS = {"aarch64": ("aarch64-linux-gnu-g++", "-march=armv8-a", "qemu-aarch64")}  # compiler, target, runner
CURVATURES = {
    "scaled_tanh_500": ("scaled_tanh", "scaled_tanh", 500),
    "tanh_37": ("tanh", "tanh", 37),
    "relu_linear_64": ("relu", "linear", 64),
}


def inputs(name: str, n: int = STEPS, seed: int = 0) -> dict:
    """What the engine hands the kernel for one epoch of variant `name`: fixed digits, parameters in the
    ranges of its init, a run's key and first step (the kernel draws the shifts and dropout masks),
    and per-step scalars (Adam's bias corrections as float32 of 1 - b^count; SDLM's per-weight scale
    positive)."""
    v = load_params(ROOT / "params.yaml").variants[name]
    rng = np.random.default_rng(seed)
    x, y = tiny_data(n, seed)
    padding = layout.PACK == layout.N_FAST
    params = np.where(padding, 0.0, rng.uniform(-0.3, 0.3, layout.N_PARAMS)).astype(np.float32)
    optimizer = codes.OPTIMIZERS[v.optimizer]
    state = np.zeros((codes.STATE_ROWS[v.optimizer], layout.N_PARAMS), np.float32)
    if v.optimizer == "sdlm":
        state[0] = np.where(padding, 0.0, 1.0 / (v.sdlm.mu + rng.uniform(0, 2, layout.N_PARAMS)))
    count = np.arange(1, n + 1)
    bc = (1 - ADAM_B1**count, 1 - ADAM_B2**count) if v.optimizer == "adamw" else (np.ones(n), np.ones(n))
    lr = v.lr if v.lr_schedule == "constant" else np.linspace(v.lr, v.lr_end, n)
    scalars = np.stack([np.broadcast_to(lr, (n,)), *bc], axis=1).astype(
        np.float32
    )  # per step: lr and Adam's two bias corrections (ones without Adam)
    return dict(
        codes=[codes.ACTIVATIONS[v.activation], codes.HEADS[v.head], codes.LOSSES[v.loss], optimizer, v.shift_pixels, int(v.dropout > 0)],
        key=rng.integers(0, 2**32, 2, dtype=np.uint32),
        first_step=np.int32(7291),
        keep_prob=np.float32(1.0 - v.dropout),
        hyper=[ADAM_B1, ADAM_B2, ADAM_EPS, v.weight_decay],
        x=x,
        y=y,
        scalars=scalars,
        params=params,
        state=state,
    )


def curvature_inputs(name: str, seed: int = 0) -> dict:
    """What the native engine hands the curvature estimate (CURVATURES[name]: activation, head, digits):
    fixed digits and parameters in the engine's order, in the ranges of its init."""
    activation, head, n = CURVATURES[name]
    rng = np.random.default_rng(seed)
    params = np.where(layout.PACK == layout.N_FAST, 0.0, rng.uniform(-0.3, 0.3, layout.N_PARAMS)).astype(np.float32)
    return dict(activation=activation, head=head, x=tiny_data(n, seed)[0], params=params)


def write_curvature_inputs(case: dict, path: Path) -> Path:
    head = np.array([len(case["x"]), codes.ACTIVATIONS[case["activation"]], codes.HEADS[case["head"]], 0], np.int32)
    path.write_bytes(b"".join(np.ascontiguousarray(p).tobytes() for p in (head, case["x"].astype(np.float32), case["params"])))
    return path


def write_inputs(case: dict, path: Path) -> Path:
    head = [len(case["y"]), *case["codes"], len(case["state"])]
    parts = [
        np.array(head, np.int32),
        np.array([*case["key"], case["first_step"], 0], np.uint32),
        np.array([case["keep_prob"], 0.0], np.float32),
        np.array(case["hyper"], np.float64),
        case["x"].astype(np.float32),
        case["y"].astype(np.int32),
        case["scalars"],
        case["params"],
        case["state"],
    ]
    path.write_bytes(b"".join(np.ascontiguousarray(p).tobytes() for p in parts))
    return path


def build_driver(out: Path, cxx: str = "g++", target: str | None = None, flags=build.KERNEL_FLAGS, static=False) -> Path:
    """driver.cc compiled with the library's own flags (or `flags`) and its headers, for `target` (default: the library's)."""
    include = out.parent / f"{out.name}-include"  # codes.h, written from codes.py as the library's build writes it
    include.mkdir(exist_ok=True)
    (include / "codes.h").write_text(codes.header())
    cmd = [
        cxx,
        target or build.march(),
        *flags,
        *(["-static"] if static else []),
        "-I",
        str(include),
        "-I",
        str(NATIVE),
        str(DRIVER),
        "-o",
        str(out),
    ]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    return out


def run_driver(driver: Path, inputs_file: Path, runner: str | None = None, curvature: bool = False) -> bytes:
    out = inputs_file.with_suffix(f".{driver.name}.out")
    mode = ["--curvature"] if curvature else []
    subprocess.run([*([runner] if runner else []), str(driver), *mode, str(inputs_file), str(out)], check=True, timeout=120)
    return out.read_bytes()


def library_outputs(case: dict) -> bytes:
    """The same epoch through the library that training loads (build.py), called from JAX as engine.py calls it."""
    import jax
    import jax.numpy as jnp

    problem = library.problem(load_params(ROOT / "params.yaml").variants["lecun1989"])
    assert not problem, problem
    out = (jax.ShapeDtypeStruct(case["params"].shape, jnp.float32), jax.ShapeDtypeStruct(case["state"].shape, jnp.float32))
    params, state = jax.ffi.ffi_call(library.TRAIN_TARGET, out)(
        *[jnp.asarray(case[k]) for k in ("x", "y", "key", "first_step", "scalars", "params", "state")],
        **{k: np.int32(c) for k, c in zip(("activation", "head", "loss", "optimizer", "max_shift", "dropout"), case["codes"])},
        keep_prob=np.float32(case["keep_prob"]),
        **{k: np.float64(h) for k, h in zip(("b1", "b2", "eps", "weight_decay"), case["hyper"])},
    )
    return np.asarray(params).tobytes() + np.asarray(state).tobytes()


def library_curvature(case: dict) -> bytes:
    """The curvature estimate through the library that training loads, as native/curvature.py calls it."""
    import jax
    import jax.numpy as jnp

    problem = library.problem(load_params(ROOT / "params.yaml").variants["lecun1989"])
    assert not problem, problem
    h = jax.ffi.ffi_call(library.CURVATURE_TARGET, jax.ShapeDtypeStruct(case["params"].shape, jnp.float32))(
        jnp.asarray(case["params"]),
        jnp.asarray(case["x"]),
        activation=np.int32(codes.ACTIVATIONS[case["activation"]]),
        head=np.int32(codes.HEADS[case["head"]]),
    )
    return np.asarray(h).tobytes()


if __name__ == "__main__":  # python tests/bits.py OUT [TARGET]: every variant through a library built here ($CXX, TARGET)
    import sys

    from helpers import VARIANTS

    if len(sys.argv) > 2:
        build.TARGETS[build.platform.machine()] = sys.argv[2]
    for name in VARIANTS:
        (Path(sys.argv[1]) / f"{name}.out").write_bytes(library_outputs(inputs(name)))
    for name in CURVATURES:
        (Path(sys.argv[1]) / f"curvature_{name}.out").write_bytes(library_curvature(curvature_inputs(name)))
    (Path(sys.argv[1]) / "record").write_text(f"native engine ({library.built_for()})")  # as a model records it
