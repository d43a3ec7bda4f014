"""The native engine: one training epoch of one run as one XLA FFI call into the C++ kernel (epoch.cc).

Its State is the kernel's own: the parameters as one flat vector in layout.py's order, and the
optimizer's per-weight arrays as rows of the same length (AdamW: mu and nu; SGD and SDLM: none).
schedule.py gives every step's scalars; the C++ side draws each step's shift and dropout mask from
the run's key, bit for bit as draws.epoch_draws does (draws.h), and runs the steps. The run is
converted to the Flax layout only for a model file (`params`); SDLM's curvature estimate (Flax
layout) becomes its per-weight step scale here.
"""

import jax
import jax.numpy as jnp
import numpy as np

from lecun1989.network import fastnet
from lecun1989.training import schedule
from lecun1989.training.engine import State, init_flax
from lecun1989.training.native import codes, layout, library
from lecun1989.training.native.forward_pass import predict

# The kernel's state rows that a run keeps from one epoch to the next: all but SDLM's step scale, which
# each epoch makes anew from its curvature estimate.
KEPT_ROWS = {**codes.STATE_ROWS, "sdlm": 0}


class NativeEngine:
    name = "native"

    def __init__(self, variant, n_train: int):
        self.variant, self.n_train = variant, n_train
        self.built_for = library.built_for()
        self.kernel = jax.jit(self._epoch)  # the compiled call alone, given the step scalars (the benchmark times it)
        self._scalars = None  # ((epoch, n), step scalars): the runs of a row share them

    def init(self, seed: int) -> State:
        params, key = init_flax(self.variant, seed)
        return State(
            layout.pack(fastnet.to_fast(params)), jnp.zeros((KEPT_ROWS[self.variant.optimizer], layout.N_PARAMS), jnp.float32), key
        )

    def params(self, state: State) -> dict:
        return fastnet.to_flax(layout.unpack(state.params))

    def epoch(self, state: State, epoch: int, X, Y, h=None) -> State:
        """h: SDLM's curvature estimate (Flax layout), for SDLM only. Called eagerly: the step scalars
        are computed in float64 by Python (schedule.step_scalars), the rest is one compiled program."""
        key, steps = self._scalars or (None, None)
        if key != (epoch, X.shape[0]):
            key, steps = (epoch, X.shape[0]), schedule.step_scalars(self.variant, self.n_train, epoch, X.shape[0])
            self._scalars = key, steps  # one assignment: threads may compute it twice, never see half of it
        return self.kernel(state, jnp.int32(epoch), X, Y, steps, h)

    def _epoch(self, state: State, epoch, X, Y, steps, h=None) -> State:
        v = self.variant
        # SDLM's per-weight step scale 1 / (mu + h) is the kernel's one state row (0 on the padding)
        rows = state.opt if h is None else layout.pack(jax.tree.map(lambda h: 1.0 / (v.sdlm.mu + h), fastnet.to_fast(h)))[None]
        out = (jax.ShapeDtypeStruct(state.params.shape, jnp.float32), jax.ShapeDtypeStruct(rows.shape, jnp.float32))
        params, rows = jax.ffi.ffi_call(library.TRAIN_TARGET, out)(
            X,
            Y,
            state.key,
            jnp.asarray(epoch * self.n_train, jnp.int32),  # the run's step count at the epoch's first digit
            steps,
            state.params,
            rows,
            activation=np.int32(codes.ACTIVATIONS[v.activation]),
            head=np.int32(codes.HEADS[v.head]),
            loss=np.int32(codes.LOSSES[v.loss]),
            optimizer=np.int32(codes.OPTIMIZERS[v.optimizer]),
            max_shift=np.int32(v.shift_pixels),
            dropout=np.int32(v.dropout != 0),
            keep_prob=np.float32(1.0 - v.dropout),
            b1=np.float64(schedule.ADAM_B1),
            b2=np.float64(schedule.ADAM_B2),
            eps=np.float64(schedule.ADAM_EPS),
            weight_decay=np.float64(v.weight_decay),
        )
        return State(params, state.opt if h is not None else rows, state.key)

    def predict(self, packed, X):
        return predict(self.variant, packed, X)
