"""The numbers Python and the C++ kernel must agree on, defined here once: the enum codes of the
variant's choices, the largest shift, layout.py's offsets, H2's input maps, the padding value and
the float64 constants of the curvature estimate (hessian_fixed.py). build.py writes them into the
header codes.h that the kernel includes, so the two sides cannot drift apart. The values the kernel's
sources write as literals (the optimizer state's rows, ScaledTanh's constants, the sizes of the digits,
the outputs and the dropout mask) are compared with their Python definitions by tests/test_native_constants.py."""

from lecun1989.network import hessian_fixed
from lecun1989.network.hessian import MSE_CURVATURE
from lecun1989.network.model import H2_GROUPS, PAD_VALUE
from lecun1989.pipeline.schema import MAX_SHIFT_PIXELS
from lecun1989.training.native import layout

ACTIVATIONS = {"tanh": 0, "relu": 1, "scaled_tanh": 2}
HEADS = {"tanh": 0, "linear": 1, "scaled_tanh": 2}
LOSSES = {"mse": 0, "softmax_xent": 1}
OPTIMIZERS = {"sgd": 0, "adamw": 1, "sdlm": 2}  # sdlm: p - lr * scale * g, scale = 1 / (mu + h) per weight
BY_KEY = {"activation": ACTIVATIONS, "head": HEADS, "loss": LOSSES, "optimizer": OPTIMIZERS}
CPP_NAMES = {  # each table's C++ enum and the prefix of its names
    "activation": ("Activation", ""),
    "head": ("Head", "HEAD_"),
    "loss": ("Loss", ""),
    "optimizer": ("Optimizer", ""),
}
# sdlm is SCALED_SGD in C++, what the kernel runs (SGD scaled per weight), a name its sources (digested in every model) keep
CPP_CODE_NAMES = {"sdlm": "SCALED_SGD", "softmax_xent": "SOFTMAX_XENT"}
# The per-weight rows of optimizer state the kernel takes: AdamW's two moments, SDLM's step scale 1 / (mu + h).
# epoch.h holds its own copy under the same name, indexed by code (tests/test_native_constants.py compares the two).
STATE_ROWS = {"sgd": 0, "adamw": 2, "sdlm": 1}
DOUBLES = {  # C++ name: value
    "PAD_VALUE": PAD_VALUE,
    "LOG2E": hessian_fixed.LOG2E,
    "LN2": hessian_fixed.LN2,
    "SCALED_A": hessian_fixed.SCALED_A,
    "SCALED_S": hessian_fixed.SCALED_S,
    "MSE_CURVATURE": MSE_CURVATURE,
}


def _doubles(values) -> str:
    return ", ".join(float(v).hex() for v in values)  # hexadecimal literals: the exact float64 bits


def header() -> str:
    """codes.h: the offsets, sizes, enums and limits above as C++ constants."""
    offsets = ", ".join(f"{k.upper()} = {v}" for k, v in layout.OFFSETS.items())
    lines = [
        "// Written by lecun1989/training/native/codes.py when the library is built; do not edit.",
        "#pragma once",
        "namespace lecun1989 {",
        f"constexpr int {offsets};",
        f"constexpr int N_PARAMS = {layout.N_PARAMS};",
        f"constexpr int W1_ROW = {layout.PADDED['w1'][1]}, W4_ROW = {layout.PADDED['w4'][1]};",
        f"constexpr int MAX_SHIFT = {MAX_SHIFT_PIXELS};",
        f"constexpr int H2_MAPS[3][8] = {{{', '.join('{' + ', '.join(map(str, g)) + '}' for g in H2_GROUPS)}}};",
        *[f"constexpr double {name} = {_doubles([v])};" for name, v in DOUBLES.items()],
        f"constexpr double INV_FACTORIAL[] = {{{_doubles(hessian_fixed.INV_FACTORIAL)}}};  // 1/14! .. 1/0!",
    ]
    for key, (enum, prefix) in CPP_NAMES.items():
        names = ", ".join(f"{prefix}{CPP_CODE_NAMES.get(k, k.upper())} = {v}" for k, v in BY_KEY[key].items())
        lines += [f"enum {enum} {{ {names} }};", f"constexpr int N_{key.upper()}_CODES = {len(BY_KEY[key])};"]
    return "\n".join([*lines, "}  // namespace lecun1989", ""])
