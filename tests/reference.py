"""An independent float64 numpy implementation of the 1989 network's forward pass and loss, written
from the paper's description (docs/anchors.md), for checking the Flax model and the training step.

Parameters are the Flax params pytree of model.Net1989 (names and shapes are the interface); the
arithmetic is all here: explicit padding, explicit strided 5x5 windows, explicit H2 connection table.
"""

import numpy as np

# H2 group g (output maps 4g .. 4g+3) reads these H1 maps: the paper's table, written out here.
H2_TABLE = ([0, 1, 2, 3, 4, 5, 6, 7], [4, 5, 6, 7, 8, 9, 10, 11], [0, 1, 2, 3, 8, 9, 10, 11])
# The squashing functions: tanh, and LeCun's scaled tanh 1.7159 tanh(2a/3) (f(1) = 1).
SQUASH = {"tanh": np.tanh, "scaled_tanh": lambda z: 1.7159 * np.tanh(2.0 * z / 3.0)}


def conv5x5_stride2(x, kernel, pad_value):
    """x (n, h, w, c_in), kernel (5, 5, c_in, c_out): pad 2 on each side with pad_value, then
    out[n, i, j, k] = sum_{a, b, c} xpad[n, 2i + a, 2j + b, c] * kernel[a, b, c, k]."""
    n, h, w, c = x.shape
    xp = np.full((n, h + 4, w + 4, c), pad_value, np.float64)
    xp[:, 2:-2, 2:-2, :] = x
    oh, ow = (h + 4 - 5) // 2 + 1, (w + 4 - 5) // 2 + 1
    out = np.zeros((n, oh, ow, kernel.shape[-1]))
    for i in range(oh):
        for j in range(ow):
            window = xp[:, 2 * i : 2 * i + 5, 2 * j : 2 * j + 5, :]
            out[:, i, j, :] = np.einsum("nabc,abck->nk", window, kernel)
    return out


def forward(params, x, activation="tanh", head="tanh", pad_h1=-1.0, pad_h2=-1.0, return_hidden=False):
    p = {
        k: ({kk: np.asarray(vv, np.float64) for kk, vv in v.items()} if isinstance(v, dict) else np.asarray(v, np.float64))
        for k, v in params.items()
    }
    act = SQUASH.get(activation, lambda z: np.maximum(z, 0.0))
    x = np.asarray(x, np.float64)[..., None]
    h1 = act(conv5x5_stride2(x, p["H1"]["kernel"], pad_h1) + p["H1_bias"])
    h2 = np.concatenate([conv5x5_stride2(h1[..., maps], p[f"H2_{g}"]["kernel"], pad_h2) for g, maps in enumerate(H2_TABLE)], axis=-1)
    h2 = act(h2 + p["H2_bias"])
    h3 = act(h2.reshape(len(h2), -1) @ p["H3"]["kernel"] + p["H3_bias"])
    out = h3 @ p["out"]["kernel"] + p["out_bias"]
    out = SQUASH[head](out) if head in SQUASH else out
    return (out, h1, h2) if return_hidden else out


def mse_pm1(outputs, labels):
    """The 1989 loss of each digit: mean over the 10 outputs of (output - target)^2, targets +1/-1."""
    targets = -np.ones(outputs.shape)
    targets[np.arange(len(labels)), labels] = 1.0
    return ((outputs - targets) ** 2).mean(axis=-1)
