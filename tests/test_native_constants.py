"""The values that the native kernel's sources write as literals, each against its one Python definition.

codes.h carries what Python writes for the kernel (codes.py). The sources' own literals stay where they
are (their digest is recorded in every model and metrics file): each is read here from the C++ text and
compared with the Python value it stands for, and a difference names both places. No compiler needed."""

import re

import jax
import jax.numpy as jnp
import numpy as np
from helpers import variant

from lecun1989.data.preprocessing import SIZE_OUT
from lecun1989.network import hessian, hessian_fixed, model
from lecun1989.training import draws, losses, schedule
from lecun1989.training.native import build, codes, layout, library

N_OUTPUTS = layout.FAST_SHAPES["b4"][0]  # the output layer's units (test_native.py ties layout.py to the Flax model)


def literals(source: str, pattern: str) -> list[tuple[str, ...]]:
    """The groups of every match of pattern in source (a file of build.SOURCES), at least one."""
    hits = [m.groups() for m in re.finditer(pattern, (build.HERE / source).read_text())]
    assert hits, f"{source} has no {pattern!r} any more: point this test at where it now writes the value"
    return hits


def same(source: str, pattern: str, python, python_place: str, convert=int):
    """Every match of pattern in source, its groups converted, equals the Python value `python`."""
    for groups in literals(source, pattern):
        cpp = tuple(map(convert, groups)) if len(groups) > 1 else convert(groups[0])
        assert cpp == python, f"{source} writes {cpp} ({pattern!r}), {python_place} defines {python}"


def test_scaled_tanh_constants_are_hessian_fixeds():
    """net.h's ScaledTanh (float32) and the curvature's float64 SCALED_A, SCALED_S (codes.h); model.py's
    scaled_tanh computes the same function."""
    ((a, two, three),) = literals("net.h", r"constexpr float A = ([0-9.]+)f, S = ([0-9.]+)f / ([0-9.]+)f;")
    cpp = (np.float32(a), np.float32(two) / np.float32(three))
    python = (np.float32(hessian_fixed.SCALED_A), np.float32(hessian_fixed.SCALED_S))
    assert cpp == python, f"net.h's ScaledTanh has A, S = {cpp}, hessian_fixed.SCALED_A, SCALED_S {python} as float32"
    x = np.linspace(-4, 4, 801, dtype=np.float32)
    want = hessian_fixed.SCALED_A * np.tanh(hessian_fixed.SCALED_S * x.astype(np.float64))
    got = np.asarray(model.scaled_tanh(jnp.asarray(x)), np.float64)
    assert np.abs(got - want).max() < 1e-6, "model.scaled_tanh's constants are not hessian_fixed.SCALED_A, SCALED_S"


def test_state_rows_are_codes_kernel_state_rows():
    """epoch.h's STATE_ROWS, indexed by optimizer code, against codes.STATE_ROWS."""
    assert set(codes.STATE_ROWS) == set(codes.OPTIMIZERS)
    python = tuple(codes.STATE_ROWS[k] for k in sorted(codes.OPTIMIZERS, key=codes.OPTIMIZERS.get))
    same("epoch.h", r"constexpr int64_t STATE_ROWS\[\] = \{(\d+), (\d+), (\d+)\};", python, "codes.STATE_ROWS")


def test_the_enumerators_the_sources_use_are_codes_h_names():
    """The C++ names of the codes are codes.h's, written from codes.py; sdlm is SCALED_SGD there
    (codes.CPP_CODE_NAMES says why), which the sources use."""
    assert codes.CPP_CODE_NAMES == {"sdlm": "SCALED_SGD", "softmax_xent": "SOFTMAX_XENT"}
    header = codes.header()
    assert f"SCALED_SGD = {codes.OPTIMIZERS['sdlm']}" in header and f"SOFTMAX_XENT = {codes.LOSSES['softmax_xent']}" in header
    declared = {name for body in re.findall(r"enum \w+ \{ (.*) \};", header) for name in re.findall(r"(\w+) = \d+", body)}
    used = {n for s in build.SOURCES for n in re.findall(r"(?:==|<\w+,) ([A-Z][A-Z0-9_]+)\b", (build.HERE / s).read_text())}
    assert "SCALED_SGD" in used and used <= declared, f"not in codes.h: {sorted(used - declared)}"


def test_digit_size_is_the_prepared_datas():
    """16 x 16 digits (preprocessing.SIZE_OUT), 256 floats apart."""
    side, place = (SIZE_OUT, SIZE_OUT), "preprocessing.SIZE_OUT"
    same("epoch.cc", r"dims\(x, \{n, (\d+), (\d+)\}\)", side, place)
    same("predict.cc", r"x\.dimensions\(\)\[1\] != (\d+) \|\| x\.dimensions\(\)\[2\] != (\d+)", side, place)
    same("curvature.cc", r"d\[1\] != (\d+) \|\| d\[2\] != (\d+)", side, place)
    for source, pattern in [
        ("epoch.h", r"e\.x \+ i \* (\d+)"),
        ("predict.cc", r"x \+ i \* (\d+)"),
        ("forward8.h", r"x \+ \(l < n_lanes \? l : 0\) \* (\d+)"),
        ("curvature.h", r"x\[d \* (\d+) \+ i\]"),
    ]:
        same(source, pattern, SIZE_OUT**2, "preprocessing.SIZE_OUT squared")


def test_output_count_is_the_output_layers():
    place = "layout.FAST_SHAPES['b4']"
    same("predict.cc", r"d\[1\] != (\d+)\)", N_OUTPUTS, place)
    same("predict.cc", r"V out\[(\d+)\];", N_OUTPUTS, place)
    same("forward8.h", r"V \(&out\)\[(\d+)\]", N_OUTPUTS, place)
    same("epoch.h", r"dout\[(\d+)\];", N_OUTPUTS, place)


def test_mse_gradient_is_the_loss_gradient():
    """epoch.h's gradient of the MSE loss, from its literals, is jax.grad of losses.mse_to_pm1; its
    coefficient is the curvature's hessian.MSE_CURVATURE."""
    ((two, hit, miss, n),) = literals(
        "epoch.h", r"dout\[i\] = ([\d.]+)f \* \(out\[i\] - \(i == label \? (-?[\d.]+)f : (-?[\d.]+)f\)\) / ([\d.]+)f;"
    )
    two, hit, miss, n = map(float, (two, hit, miss, n))
    assert two / n == hessian.MSE_CURVATURE, (
        f"epoch.h's MSE gradient is {two}/{n} (out - target), hessian.MSE_CURVATURE {hessian.MSE_CURVATURE}"
    )
    out, label = np.linspace(-1.5, 1.5, N_OUTPUTS, dtype=np.float32), 3
    cpp = [two * (o - (hit if i == label else miss)) / n for i, o in enumerate(out)]
    python = jax.grad(lambda o: losses.mse_to_pm1(o, jnp.int32(label)))(jnp.asarray(out))
    assert np.allclose(cpp, python, rtol=1e-6, atol=1e-7), f"epoch.h's MSE gradient {cpp}, losses.mse_to_pm1's {python}"


def test_dropout_mask_is_engine_epoch_draws():
    """H2's dropout mask: (16 positions, 12 maps) as training/draws.epoch_draws draws it, 192 values,
    which draws.h draws map after map, 16 positions at a time."""
    v = variant("change4_relu_dropout")
    _, masks = draws.epoch_draws(v, jax.random.PRNGKey(0), 0, 4, 4, masks=True)
    positions, maps = masks.shape[1:]
    place = "draws.epoch_draws's masks"
    assert (maps, positions) == layout.FAST_SHAPES["b2"], (
        f"{place} are {masks.shape[1:]}, layout.FAST_SHAPES['b2'] {layout.FAST_SHAPES['b2']}"
    )
    same("epoch.h", r"bool mask\[(\d+)\];", positions * maps, place)
    same("draws.h", r"bool keep\[(\d+)\]\)", positions * maps, place)
    same("epoch.cc", r"keep \+ (\d+) \* i\)", positions * maps, place)
    same("draws.h", r"for \(int m = 0; m < (\d+); m\+\+\) \{\n    auto kept = unit_float\(bits\(key, LANES \* (\d+)u", (maps, maps), place)
    same("draws.h", r"for \(int p = 0; p < (\d+); p\+\+\) keep\[m \* (\d+) \+ p\]", (positions, positions), place)


def test_step_scalars_are_schedules():
    """The kernel reads each step's (lr, 1 - b1^t, 1 - b2^t) from schedule.step_scalars's rows."""
    v = variant("change2_adamw")
    steps = schedule.step_scalars(v, 8, 0, 4)
    assert steps[0, 0] == np.float32(v.lr) and steps[0, 1] == np.float32(1 - schedule.ADAM_B1)
    place = "schedule.step_scalars's columns"
    same("epoch.cc", r"dims\(steps, \{n, (\d+)\}\)", steps.shape[1], place)
    same("epoch.h", r"e\.steps \+ (\d+) \* i", steps.shape[1], place)
    literals("optimizers.h", r"step\[0\], 1\.0f / step\[1\], 1\.0f / step\[2\], h\}")  # lr, then the two corrections


def test_adams_constants_come_from_schedule():
    """b1, b2 and eps reach the kernel as attributes of the call (schedule.ADAM_B1 ...), never as literals."""
    attrs = {name for (name,) in literals("epoch.cc", r'\.Attr<\w+>\("(\w+)"\)')}
    assert {"b1", "b2", "eps", "keep_prob", "max_shift"} <= attrs
    for source in build.SOURCES:
        text = (build.HERE / source).read_text()
        assert not re.search(r"\b0\.9(?:99)?f?\b|\b1e-0?8f?\b", text), f"{source} writes one of Adam's constants (schedule.py's)"


def test_ffi_targets_are_librarys():
    symbols = {
        s for source in build.SOURCES if source.endswith(".cc") for (s,) in literals(source, r"XLA_FFI_DEFINE_HANDLER_SYMBOL\((\w+),")
    }
    python = {library.TRAIN_TARGET, library.PREDICT_TARGET, library.CURVATURE_TARGET}
    assert symbols == python, f"the sources define the FFI handlers {sorted(symbols)}, library.py registers {sorted(python)}"
