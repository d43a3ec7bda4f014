"""The native CPU engine (lecun1989/training/native/) against the reference engine (the readable Flax
model), its bits, its layout and generated header, and the fall-back to the XLA engine where it
cannot be built."""

import logging
import subprocess
from typing import get_args

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import VARIANTS, make_runs, max_diff, tiny_data, train
from helpers import variant as params_variant
from reference_engine import ReferenceEngine

from lecun1989 import runtime
from lecun1989.evaluation.predict import Predictor
from lecun1989.network import fastnet, model
from lecun1989.pipeline.errors import PipelineError
from lecun1989.pipeline.schema import MAX_SHIFT_PIXELS, Variant
from lecun1989.training import engine_choice, engines, runs
from lecun1989.training.native import build, codes, layout, library
from lecun1989.training.native.forward_pass import predict as native_predict
from lecun1989.training.native.native_engine import NativeEngine

N = 100
NATIVE = {"engine": "native", "mode": "threads"}  # fail rather than fall back
# Combinations the schema allows beyond the rows of params.yaml.
EXTRA = {
    "scaled_tanh_mse_sgd": ("lecun1989", {"activation": "scaled_tanh"}),
    "relu_tanh_head_adamw_constant": ("lecun1989", {"activation": "relu", "optimizer": "adamw", "lr": 1e-3, "weight_decay": 0.01}),
    "linear_head_mse_sgd_linear_schedule": ("lecun1989", {"head": "linear", "lr_schedule": "linear", "lr_end": 0.003}),
    "tanh_softmax_shift2_dropout": ("change4_relu_dropout", {"activation": "tanh", "shift_pixels": 2}),
    "scaled_tanh_head": ("lecun1989", {"activation": "scaled_tanh", "head": "scaled_tanh"}),
    "sdlm_constant_relu_linear_head": (
        "lecun1989_paper",
        {"activation": "relu", "head": "linear", "lr_schedule": "constant", "lr_end": None},
    ),
}


def variant(name, **changes):
    return params_variant(name, **{"n_seeds": 1, **changes})


def data(n=N):
    x, y = tiny_data(n)
    return jnp.asarray(x), jnp.asarray(y)


def one(tree, i=0):
    return jax.tree.map(lambda a: a[i], tree)


def test_every_choice_the_schema_allows_is_in_the_native_engine():
    fields = Variant.model_fields
    for key, table in codes.BY_KEY.items():
        assert set(get_args(fields[key].annotation)) == set(table), key
    assert set(codes.BY_KEY) == {"activation", "head", "loss", "optimizer"}
    assert all(library.problem(variant(n)) == "" for n in VARIANTS)


@pytest.mark.parametrize("name", [*VARIANTS, *EXTRA])
def test_native_engine_matches_flax_model_after_100_steps(name):
    base, changes = EXTRA.get(name, (name, {}))
    X, Y = data()
    v = variant(base, **changes)
    fast, ref = make_runs(v, N, **NATIVE), make_runs(v, N, engine=ReferenceEngine(v, N))
    assert fast.engine.name == "native"
    start = fast.init()
    assert max_diff(fast.params(start), ref.params(ref.init())) == 0.0
    s_fast, s_ref = fast.train_epoch(start, 0, X, Y), ref.train_epoch(ref.init(), 0, X, Y)
    assert max_diff(fast.params(s_fast), ref.params(s_ref)) < 1e-5
    assert max_diff(fast.params(s_fast), fast.params(start)) > 1e-3  # it trained
    assert s_fast[0].opt.shape == start[0].opt.shape and s_fast[0].params.shape == (layout.N_PARAMS,)


@pytest.mark.parametrize("activation, head", [("tanh", "tanh"), ("relu", "linear"), ("scaled_tanh", "scaled_tanh")])
def test_native_outputs_match_flax_model(activation, head):
    """Evaluation's forward pass (predict.cc) on trained parameters, through the runs and through the
    evaluate stage's Predictor, against the readable model."""
    X, Y = data(300)  # more digits than one of XLA's evaluation chunks: the remainder path too
    v = variant("lecun1989", activation=activation, head=head, n_seeds=2)
    fast = make_runs(v, 300, **NATIVE)
    trained = fast.train_epoch(fast.init(), 0, X, Y)
    flax_params = fast.params(trained)
    net = model.build(v)
    theirs = np.stack([np.asarray(net.apply({"params": one(flax_params, i)}, X)) for i in range(2)])
    ours = fast.predict(trained, X)
    assert ours.shape == theirs.shape == (2, 300, 10)
    assert float(np.abs(ours - theirs).max()) < 1e-5
    assert float(np.abs(ours[0] - ours[1]).max()) > 1e-3  # each run its own parameters
    predictor = Predictor(v, "native")
    assert predictor.engine == "native" and predictor.description.startswith("native engine (")
    np.testing.assert_array_equal(predictor.outputs(flax_params, X), ours)


@pytest.fixture
def fresh_lines(monkeypatch):
    """The once-per-process log lines of the runs and engines modules, as if none had been said yet."""
    runs._say.cache_clear()
    engines._say.cache_clear()
    yield
    runs._say.cache_clear()
    engines._say.cache_clear()


def test_vectorized_runs_train_on_xla_with_one_line_or_refuse_native(fresh_lines, caplog):
    v = variant("lecun1989")
    with pytest.raises(PipelineError, match="LECUN1989_ENGINE=native, but runs are vectorized"):
        make_runs(v, N, engine="native", mode="vectorized")
    with caplog.at_level(logging.WARNING, logger=engines.__name__):
        assert make_runs(v, N, engine="auto", mode="vectorized").engine.name == "xla"
    (line,) = [r.getMessage() for r in caplog.records if "native" in r.getMessage()]
    assert line.startswith(
        "variant: native CPU engine unavailable (runs are vectorized (LECUN1989_RUNS), the native engine trains one run per thread); "
        "training on the XLA engine (the model records it): LECUN1989_RUNS=threads for the native engine, or LECUN1989_ENGINE=xla to choose XLA"
    )


def test_adam_moments_match_the_xla_engine():
    """The native engine's state rows are Adam's moments in the packed layout: the XLA engine's
    optax moments, packed; the padding between the blocks stays exactly zero."""
    X, Y = data()
    v = variant("change3_shift")
    ours, xla = make_runs(v, N, **NATIVE), make_runs(v, N, engine="xla", mode="threads")
    a, b = ours.train_epoch(ours.init(), 0, X, Y)[0], xla.train_epoch(xla.init(), 0, X, Y)[0]
    adam = next(s for s in b.opt if isinstance(s, optax.ScaleByAdamState))
    assert int(adam.count) == N
    assert a.opt.shape == (2, layout.N_PARAMS)
    assert float(jnp.abs(a.opt[0]).max()) > 0 and float(jnp.abs(a.opt[1]).max()) > 0
    assert max_diff(layout.unpack(a.opt[0]), adam.mu) < 1e-5
    assert max_diff(layout.unpack(a.opt[1]), adam.nu) < 1e-7  # squared gradients, up to ~0.02 here
    padding = layout.PACK == layout.N_FAST
    assert padding.sum() == layout.N_PARAMS - 9760
    assert float(jnp.abs(a.opt[:, padding]).max()) == 0.0 and float(jnp.abs(a.params[padding]).max()) == 0.0


@pytest.mark.parametrize("name", ["lecun1989", "change4_relu_dropout"])
def test_same_bits_on_rerun_and_alone_or_with_other_seeds(name):
    X, Y = data(40)
    together = make_runs(variant(name, n_seeds=3), 40, **NATIVE)
    alone = make_runs(variant(name, seed=1), 40, **NATIVE)
    s3, s1 = train(together, X, Y, 2), train(alone, X, Y, 2)
    assert max_diff(jax.tree.map(lambda a: a[1:2], together.params(s3)), alone.params(s1)) == 0.0
    again = make_runs(variant(name, seed=1), 40, **NATIVE)
    assert max_diff(again.params(train(again, X, Y, 2)), alone.params(s1)) == 0.0


def test_layout_round_trip():
    f = fastnet.to_fast(model.Net1989().init(jax.random.PRNGKey(0), jnp.zeros((1, 16, 16)))["params"])
    packed = layout.pack(f)
    assert packed.shape == (layout.N_PARAMS,)
    assert max_diff(layout.unpack(packed), f) == 0.0
    assert int(jnp.count_nonzero(packed)) == sum(int(jnp.count_nonzero(a)) for a in f.values())  # padding is zero


def test_generated_header_holds_the_python_constants(tmp_path):
    """codes.h as the C++ compiler reads it: a program including it prints every constant, and they
    are layout.py's offsets and size and codes.py's tables."""
    (tmp_path / "codes.h").write_text(codes.header())
    names = {**{k.upper(): v for k, v in layout.OFFSETS.items()}, "N_PARAMS": layout.N_PARAMS, "MAX_SHIFT": MAX_SHIFT_PIXELS}
    names |= {"W1_ROW": layout.PADDED["w1"][1], "W4_ROW": layout.PADDED["w4"][1]}
    for key, (_, prefix) in codes.CPP_NAMES.items():
        names[f"N_{key.upper()}_CODES"] = len(codes.BY_KEY[key])
        names |= {f"{prefix}{codes.CPP_CODE_NAMES.get(k, k.upper())}": v for k, v in codes.BY_KEY[key].items()}
    prints = "".join(f'  std::printf("{name} %d\\n", static_cast<int>(lecun1989::{name}));\n' for name in names)
    (tmp_path / "main.cc").write_text(f'#include <cstdio>\n#include "codes.h"\nint main() {{\n{prints}}}\n')
    subprocess.run(
        [runtime.compiler(), "-std=c++17", "-I", str(tmp_path), str(tmp_path / "main.cc"), "-o", str(tmp_path / "main")], check=True
    )
    printed = subprocess.run([str(tmp_path / "main")], capture_output=True, text=True, check=True).stdout.split()
    assert dict(zip(printed[::2], map(int, printed[1::2]))) == names
    assert names["SGD"] == codes.OPTIMIZERS["sgd"] and names["SCALED_SGD"] == codes.OPTIMIZERS["sdlm"] and names["HEAD_LINEAR"] == 1


@pytest.mark.parametrize("table, code", [("ACTIVATIONS", 3), ("HEADS", -1), ("LOSSES", 2), ("OPTIMIZERS", 3)])
def test_the_kernel_refuses_an_unknown_code(monkeypatch, table, code):
    """A code outside the C++ enum never runs: the FFI call fails with the kernel's message."""
    v = variant("change4_relu_dropout", optimizer="adamw")
    key = {"ACTIVATIONS": v.activation, "HEADS": v.head, "LOSSES": v.loss, "OPTIMIZERS": v.optimizer}[table]
    X, Y = data(8)
    eng = NativeEngine(v, 8)
    state = eng.init(0)
    monkeypatch.setitem(getattr(codes, table), key, code)
    with pytest.raises(Exception, match="lecun1989 native epoch: unknown activation, head, loss, optimizer or shift"):
        jax.block_until_ready(eng.epoch(state, 0, X, Y))
    if table in ("ACTIVATIONS", "HEADS"):
        with pytest.raises(Exception, match="lecun1989 native predict: unknown activation or head"):
            jax.block_until_ready(native_predict(v, state.params, X))


def test_the_kernel_refuses_a_shift_beyond_its_buffer():
    X, Y = data(8)
    v = variant("change3_shift").model_copy(update={"shift_pixels": MAX_SHIFT_PIXELS + 1})  # past the schema's limit
    eng = NativeEngine(v, 8)
    with pytest.raises(Exception, match="unknown activation, head, loss, optimizer or shift"):
        jax.block_until_ready(eng.epoch(eng.init(0), 0, X, Y))


@pytest.fixture
def no_compiler(monkeypatch, tmp_path, fresh_lines):
    """A machine without a C++ compiler: a fresh build folder, CXX pointing nowhere, nothing registered yet."""
    monkeypatch.setenv("LECUN1989_NATIVE_CACHE", str(tmp_path / "build"))
    monkeypatch.setenv("CXX", str(tmp_path / "no-such-g++"))
    monkeypatch.setattr(library, "_problem", None)


def test_default_engine_is_native_where_it_can_run(monkeypatch):
    monkeypatch.delenv("LECUN1989_ENGINE", raising=False)
    assert runtime.engine() == "auto"
    assert make_runs(variant("lecun1989"), 20, engine=runtime.engine(), mode="threads").engine.name == "native"
    assert Predictor(variant("lecun1989"), runtime.engine()).engine == "native"


def test_without_a_compiler_training_falls_back_to_xla_with_one_line(no_compiler, caplog):
    X, Y = data(20)
    with caplog.at_level(logging.WARNING, logger=engines.__name__):
        trainers = [make_runs(variant("lecun1989"), 20, engine="auto", mode="threads") for _ in range(2)]
        assert [t.engine.name for t in trainers] == ["xla", "xla"]
        trainers[0].train_epoch(trainers[0].init(), 0, X, Y)
    lines = [r.getMessage() for r in caplog.records if "native" in r.getMessage()]
    assert len(lines) == 1 and "native CPU engine unavailable" in lines[0] and "no-such-g++" in lines[0], lines
    assert "make native for the native engine, or LECUN1989_ENGINE=xla to choose XLA" in lines[0]


def test_native_asked_for_but_unavailable_is_one_clear_error(no_compiler):
    with pytest.raises(PipelineError, match="LECUN1989_ENGINE=native, but no C\\+\\+ compiler"):
        engine_choice.choose(variant("lecun1989"), "native", vectorized=False)


def test_unknown_engine_name_is_refused(monkeypatch):
    monkeypatch.setenv("LECUN1989_ENGINE", "fortran")
    with pytest.raises(runtime.EnvironmentSettingError, match="LECUN1989_ENGINE='fortran' is not a choice: set it to one of auto ") as e:
        runtime.engine()
    assert e.value.label == "environment error" and "native (the C++ engine); xla (fastnet on XLA), or unset it" in str(e.value)


def test_a_failing_compiler_is_reported_with_its_error(monkeypatch, tmp_path):
    monkeypatch.setenv("LECUN1989_NATIVE_CACHE", str(tmp_path / "build"))
    monkeypatch.setattr(build, "FLAGS", (*build.FLAGS, "-DLECUN1989_BROKEN", "-include", "no/such/header.h"))
    with pytest.raises(build.BuildError, match="failed on the native engine's sources"):
        build.build()
    assert not list((tmp_path / "build").glob("*.so"))


def sdlm_variant(mu: float):
    """lecun1989 trained by SDLM (same network, loss, data and constant lr): its step is SGD's with
    a per-weight scale 1 / (mu + h)."""
    paper = params_variant("lecun1989_paper")
    return variant("lecun1989", optimizer="sdlm", sdlm={**paper.sdlm.model_dump(), "mu": mu, "hessian_samples": 30})


def test_a_cpu_without_avx2_and_fma_is_refused_in_one_line(monkeypatch, tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu sse sse2 ssse3 sse4_1 sse4_2 avx popcnt\n")
    assert build.cpu_problem("x86_64", info) == "this CPU lacks avx2, bmi1, bmi2, f16c, fma, abm, movbe, xsave of x86-64-v3 (AVX2 + FMA)"
    info.write_text(f"flags\t\t: sse2 {' '.join(build.X86_64_V3)} avx512f\n")
    assert build.cpu_problem("x86_64", info) == ""
    assert build.cpu_problem("aarch64", info) == ""
    assert build.cpu_problem("riscv64", info) == "no native build for riscv64 CPUs (only x86_64 and aarch64)"
    assert build.cpu_problem("x86_64", tmp_path / "none") == f"cannot read {tmp_path / 'none'} to check for AVX2 and FMA"
    monkeypatch.setattr(build, "cpu_problem", lambda: "this CPU lacks avx2, fma of x86-64-v3 (AVX2 + FMA)")
    with pytest.raises(build.BuildError, match="^this CPU lacks avx2, fma"):
        build.build()


def test_per_weight_step_optimizer_is_sgd_scaled_per_weight():
    """The kernel's SGD with a per-weight step array (for SDLM): scale 1 is SGD to the bit, 0.5 with
    twice the learning rate is SGD to the bit, and scale 0 freezes a block."""
    X, Y = data(30)
    sgd = NativeEngine(variant("lecun1989"), 30)
    start = sgd.init(0)
    plain = sgd.epoch(start, 0, X, Y).params

    def scaled(h_value, lr, frozen_h1=False):
        v = sdlm_variant(mu=0.5)
        eng = NativeEngine(v.model_copy(update={"lr": lr}), 30)
        h = jax.tree.map(lambda a: jnp.full(a.shape, h_value, jnp.float32), sgd.params(start))
        if frozen_h1:
            h["H1"]["kernel"] = jnp.full(h["H1"]["kernel"].shape, jnp.inf)  # scale 1 / (mu + inf) = 0
        state = eng.init(0)
        assert max_diff(state.params, start.params) == 0.0  # the same initialisation
        return eng.epoch(state, 0, X, Y, h).params

    lr = variant("lecun1989").lr
    assert max_diff(scaled(0.5, lr), plain) == 0.0  # 1 / (0.5 + 0.5) = 1
    assert max_diff(scaled(1.5, 2 * lr), plain) == 0.0  # 1 / (0.5 + 1.5) = 0.5, twice the lr
    frozen = scaled(0.5, lr, frozen_h1=True)
    w1 = slice(layout.OFFSETS["w1"], layout.N_PARAMS)
    assert max_diff(frozen[w1], start.params[w1]) == 0.0 and max_diff(frozen, start.params) > 1e-3
