"""The native CPU engine (lecun1989/training/native/) against the readable Flax model, its bits, its
layout, and the fall-back to the XLA engine where it cannot be built."""

import re
from typing import get_args

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import ROOT, VARIANTS, tiny_data

from lecun1989.network import fastnet, model
from lecun1989.pipeline.errors import PipelineError
from lecun1989.pipeline.params import Variant, load_variant
from lecun1989.training.engine import Trainer
from lecun1989.training.native import build, layout
from lecun1989.training.native import engine as native

N = 100
# Combinations the schema allows beyond the rows of params.yaml.
EXTRA = {
    "scaled_tanh_mse_sgd": ("lecun1989", {"activation": "scaled_tanh"}),
    "relu_tanh_head_adamw_constant": ("lecun1989", {"activation": "relu", "optimizer": "adamw", "lr": 1e-3, "weight_decay": 0.01}),
    "linear_head_mse_sgd_linear_schedule": ("lecun1989", {"head": "linear", "lr_schedule": "linear", "lr_end": 0.003}),
    "tanh_head_softmax_shift2_dropout": ("change4_relu_dropout", {"activation": "tanh", "head": "tanh", "shift_pixels": 2}),
    "scaled_tanh_head": ("lecun1989", {"activation": "scaled_tanh", "head": "scaled_tanh"}),
    "sdlm_constant_relu_linear_head": (
        "lecun1989_paper",
        {"activation": "relu", "head": "linear", "lr_schedule": "constant", "lr_end": None},
    ),
}


@pytest.fixture(autouse=True)
def native_engine(monkeypatch):
    monkeypatch.setenv(native.ENV, "native")  # fail rather than fall back


def variant(name, **update):
    return load_variant(name, ROOT / "params.yaml").model_copy(update={"n_seeds": 1, **update})


def max_diff(a, b):
    return max(float(np.abs(np.asarray(u) - np.asarray(v)).max()) for u, v in zip(jax.tree.leaves(a), jax.tree.leaves(b)))


def data(n=N):
    x, y = tiny_data(n)
    return jnp.asarray(x), jnp.asarray(y)


def test_every_choice_the_schema_allows_is_in_the_native_engine():
    fields = Variant.model_fields
    for key, codes in (
        ("activation", native.ACTIVATIONS),
        ("head", native.HEADS),
        ("loss", native.LOSSES),
        ("optimizer", native.OPTIMIZERS),
    ):
        assert set(get_args(fields[key].annotation)) == set(codes), key
    assert all(native.problem(variant(n)) == "" for n in VARIANTS)


@pytest.mark.parametrize("name", [*VARIANTS, *EXTRA])
def test_native_engine_matches_flax_model_after_100_steps(name):
    base, update = EXTRA.get(name, (name, {}))
    X, Y = data()
    v = variant(base, **update)
    fast, ref = Trainer(v, N), Trainer(v, N, reference=True)
    assert fast.engine == "native"
    s_fast, s_ref = fast.init(), ref.init()
    s_fast, s_ref = fast.train_epoch(s_fast, 0, X, Y), ref.train_epoch(s_ref, 0, X, Y)
    assert max_diff(s_fast.params, s_ref.params) < 1e-5
    assert max_diff(s_fast.params, fast.init().params) > 1e-3  # it trained
    assert jax.tree.structure(s_fast.opt_state) == jax.tree.structure(fast.init().opt_state)


@pytest.mark.parametrize("activation, head", [("tanh", "tanh"), ("relu", "linear"), ("scaled_tanh", "scaled_tanh")])
def test_native_outputs_match_flax_model(activation, head):
    """Evaluation's forward pass (predict.cc) on trained parameters, against the readable model."""
    X, Y = data(300)  # more digits than one of XLA's evaluation chunks: the remainder path too
    v = variant("lecun1989", activation=activation, head=head, n_seeds=2)
    fast, ref = Trainer(v, 300), Trainer(v, 300, reference=True)
    trained = fast.train_epoch(fast.init(), 0, X, Y).params
    ours, theirs = fast.predict(trained, X), ref.predict(trained, X)
    assert ours.shape == theirs.shape == (2, 300, 10)
    assert float(np.abs(ours - theirs).max()) < 1e-5
    assert float(np.abs(ours[0] - ours[1]).max()) > 1e-3  # each run its own parameters


def test_vectorized_runs_train_on_xla_with_one_line_or_refuse_native(monkeypatch, capsys):
    monkeypatch.setenv("LECUN1989_RUNS", "vectorized")
    monkeypatch.setattr(native, "_said", set())
    with pytest.raises(PipelineError, match="LECUN1989_ENGINE=native, but runs are vectorized"):
        Trainer(variant("lecun1989"), N)
    monkeypatch.setenv(native.ENV, "auto")
    assert Trainer(variant("lecun1989"), N).engine == "xla"
    assert "native CPU engine unavailable (runs are vectorized" in capsys.readouterr().err


def test_optimizer_state_matches_the_xla_engine(monkeypatch):
    """Adam's moments and counts come back in fastnet's layout, so the engines can take over from each other."""
    X, Y = data()
    v = variant("change3_shift")
    ours = Trainer(v, N)
    monkeypatch.setenv(native.ENV, "xla")
    xla = Trainer(v, N)
    assert xla.engine == "xla"
    a, b = ours.train_epoch(ours.init(), 0, X, Y), xla.train_epoch(xla.init(), 0, X, Y)
    assert max_diff(a.opt_state, b.opt_state) < 1e-5
    assert [c.item() for c in jax.tree.leaves(a.opt_state) if c.dtype == jnp.int32] == [N, N]
    mu = a.opt_state[0].mu["w2"][0]
    assert float(jnp.abs(mu * (1 - fastnet.H2_MASK)).max()) == 0.0  # unconnected weights keep exact zeros


@pytest.mark.parametrize("name", ["lecun1989", "change4_relu_dropout"])
def test_same_bits_on_rerun_and_alone_or_with_other_seeds(name):
    X, Y = data(40)
    together = Trainer(variant(name, n_seeds=3), 40)
    alone = Trainer(variant(name, seed=1), 40)
    s3, s1 = together.init(), alone.init()
    for epoch in range(2):
        s3, s1 = together.train_epoch(s3, epoch, X, Y), alone.train_epoch(s1, epoch, X, Y)
    assert max_diff(jax.tree.map(lambda a: a[1:2], s3.params), s1.params) == 0.0
    again = Trainer(variant(name, seed=1), 40)
    s = again.init()
    for epoch in range(2):
        s = again.train_epoch(s, epoch, X, Y)
    assert max_diff(s.params, s1.params) == 0.0


def test_layout_round_trip_and_offsets_match_net_h():
    f = fastnet.to_fast(model.Net1989().init(jax.random.PRNGKey(0), jnp.zeros((1, 16, 16)))["params"])
    packed = layout.pack(f)
    assert packed.shape == (layout.N_PARAMS,)
    assert max_diff(layout.unpack(packed), f) == 0.0
    assert int(jnp.count_nonzero(packed)) == sum(int(jnp.count_nonzero(a)) for a in f.values())  # padding is zero
    constants = dict(re.findall(r"(\w+) = (\d+)", re.search(r"constexpr int W2 = .*;", (build.HERE / "net.h").read_text()).group()))
    assert {k.upper(): v for k, v in layout.OFFSETS.items()} == {k: int(v) for k, v in constants.items()}
    assert f"N_PARAMS = {layout.N_PARAMS};" in (build.HERE / "net.h").read_text()


@pytest.fixture
def no_compiler(monkeypatch, tmp_path):
    """A machine without a C++ compiler: a fresh build folder, CXX pointing nowhere, nothing registered yet."""
    monkeypatch.setattr(build, "BUILD_DIR", tmp_path / "build")
    monkeypatch.setenv("CXX", str(tmp_path / "no-such-g++"))
    monkeypatch.setattr(native, "_build_problem", None)
    monkeypatch.setattr(native, "_said", set())


def test_default_engine_is_native_where_it_can_run(monkeypatch):
    monkeypatch.delenv(native.ENV)
    assert Trainer(variant("lecun1989"), 20).engine == "native"


def test_without_a_compiler_training_falls_back_to_xla_with_one_line(no_compiler, monkeypatch, capsys):
    monkeypatch.setenv(native.ENV, "auto")
    X, Y = data(20)
    trainers = [Trainer(variant("lecun1989"), 20) for _ in range(2)]
    assert [t.engine for t in trainers] == ["xla", "xla"]
    trainers[0].train_epoch(trainers[0].init(), 0, X, Y)
    lines = [line for line in capsys.readouterr().err.strip().splitlines() if "native" in line]
    assert len(lines) == 1 and "native CPU engine unavailable" in lines[0] and "no-such-g++" in lines[0]


def test_native_asked_for_but_unavailable_is_one_clear_error(no_compiler):
    with pytest.raises(PipelineError, match="LECUN1989_ENGINE=native, but no C\\+\\+ compiler"):
        native.choose(variant("lecun1989"))


def test_unknown_engine_name_is_refused(monkeypatch):
    monkeypatch.setenv(native.ENV, "fortran")
    with pytest.raises(
        PipelineError, match="LECUN1989_ENGINE='fortran': use auto \\(the default: native where it can run\\), native, or xla"
    ):
        native.choose(variant("lecun1989"))


def test_a_failing_compiler_is_reported_with_its_error(monkeypatch, tmp_path):
    monkeypatch.setattr(build, "BUILD_DIR", tmp_path / "build")
    monkeypatch.setattr(build, "FLAGS", (*build.FLAGS, "-DLECUN1989_BROKEN", "-include", "no/such/header.h"))
    with pytest.raises(build.BuildError, match="failed on the native engine's sources"):
        build.build()
    assert not list((tmp_path / "build").glob("*.so"))


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
    """The kernel's SGD with a per-weight step array (for SDLM): scale 1 is SGD to the bit, 0.5
    halves the step exactly, 0 freezes a block."""
    X, Y = data(30)
    v = variant("lecun1989")
    t = Trainer(v, 30)
    assert t.engine == "native"  # built and registered
    epoch = native.NativeEpoch(v, 30)
    params = layout.pack(fastnet.to_fast(t.init_one(0).params))
    steps = epoch.step_scalars(t.init_one(0).opt_state, 30)
    run = jax.jit(
        lambda state, optimizer, steps: epoch.run(params, state, X, Y, jnp.zeros(30, jnp.int32), None, steps, optimizer)[0],
        static_argnums=1,
    )
    sgd = run(jnp.zeros((0, layout.N_PARAMS)), native.OPTIMIZERS["sgd"], steps)
    ones = jnp.ones((1, layout.N_PARAMS))
    assert max_diff(run(ones, native.SCALED_SGD, steps), sgd) == 0.0
    assert max_diff(run(ones * 0.5, native.SCALED_SGD, steps * 2.0), sgd) == 0.0
    w1 = slice(layout.OFFSETS["w1"], layout.N_PARAMS)
    frozen = run(ones.at[0, w1].set(0.0), native.SCALED_SGD, steps)
    assert max_diff(frozen[w1], params[w1]) == 0.0 and max_diff(frozen, params) > 1e-3
