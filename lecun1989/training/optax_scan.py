"""What the reference and XLA engines share: each step an optax update of jax.grad of the step's loss,
the epoch one lax.scan over the digits in order. A subclass gives its layout (to_layout from the
Flax pytree, params back to it), the step's loss, and whether it takes dropout as masks or keys."""

import jax
import jax.numpy as jnp
import optax

from lecun1989.training.draws import epoch_draws
from lecun1989.training.engine import State, init_flax
from lecun1989.training.losses import LOSSES
from lecun1989.training.optimizers import make_optimizer


class OptaxScanEngine:
    dropout_masks = False  # True: step_loss takes (16, 12) keep masks; False: dropout keys

    def __init__(self, variant, n_train: int):
        self.variant, self.n_train = variant, n_train
        self.loss = LOSSES[variant.loss]
        self.tx = make_optimizer(variant, n_train)
        self._compiled = jax.jit(self.scan_epoch)

    def to_layout(self, flax_tree):
        return flax_tree

    def params(self, state: State) -> dict:
        return state.params

    def init(self, seed: int) -> State:
        flax_params, key = init_flax(self.variant, seed)
        params = self.to_layout(flax_params)
        return State(params, self.tx.init(params), key)

    def epoch(self, state: State, epoch: int, X, Y, h=None) -> State:
        return self._compiled(state, jnp.int32(epoch), X, Y, h)

    def scan_epoch(self, state: State, epoch, X, Y, h=None) -> State:
        """The epoch as one lax.scan, traceable (the vectorized runs vmap it). h: SDLM's curvature
        (Flax layout), moved like the weights."""
        shift, dropout = epoch_draws(self.variant, state.key, epoch, self.n_train, X.shape[0], masks=self.dropout_masks)
        extra = {} if h is None else {"hessian": self.to_layout(h)}

        def step(carry, sample):
            params, opt = carry
            updates, opt = self.tx.update(jax.grad(self.step_loss)(params, *sample), opt, params, **extra)
            return (optax.apply_updates(params, updates), opt), None

        (params, opt), _ = jax.lax.scan(step, (state.params, state.opt), (X, Y, shift, dropout))
        return State(params, opt, state.key)
