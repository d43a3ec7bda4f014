"""Training: batch-1 updates inside one compiled lax.scan per epoch, vmapped over seeds, so that
all seeds of a variant train together in one program and Python only runs once per epoch."""

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

import model

ADAM_B1, ADAM_B2, ADAM_EPS = 0.9, 0.999, 1e-8  # PyTorch's and optax's defaults


def mse_to_pm1(outputs, labels):
    """The 1989 loss: mean squared error against +1 for the true class, -1 for the others."""
    targets = 2.0 * jax.nn.one_hot(labels, 10) - 1.0
    return jnp.mean((outputs - targets) ** 2, axis=-1)


def softmax_xent(logits, labels):
    return optax.softmax_cross_entropy_with_integer_labels(logits, labels)


LOSSES = {"mse": mse_to_pm1, "softmax_xent": softmax_xent}


def make_optimizer(variant, total_steps: int) -> optax.GradientTransformation:
    lr = variant.lr
    if variant.lr_schedule == "linear":
        lr = optax.linear_schedule(variant.lr, variant.lr_end, total_steps)
    if variant.optimizer == "sgd":
        return optax.sgd(lr)
    return optax.adamw(lr, b1=ADAM_B1, b2=ADAM_B2, eps=ADAM_EPS, weight_decay=variant.weight_decay)


def random_shift(x, key, max_pixels: int):
    """Roll one digit by up to max_pixels in x and y (wrap-around fill)."""
    dx, dy = jax.random.randint(key, (2,), -max_pixels, max_pixels + 1)
    return jnp.roll(x, (dx, dy), axis=(0, 1))


class State(NamedTuple):
    params: dict
    opt_state: tuple
    data_key: jax.Array  # per-seed stream for shifts and dropout


class Trainer:
    """All seeds of one variant. Every array in a State has a leading seed axis."""

    def __init__(self, variant, n_train: int):
        self.variant = variant
        self.net = model.build(variant)
        self.loss = LOSSES[variant.loss]
        self.n_train = n_train
        self.tx = make_optimizer(variant, variant.epochs * n_train)
        self._epoch = jax.jit(jax.vmap(self._one_seed_epoch, in_axes=(0, None, None, None)))
        self._predict = jax.jit(jax.vmap(self._one_seed_predict, in_axes=(0, None)))

    def seeds(self) -> list[int]:
        return [self.variant.seed + i for i in range(self.variant.n_seeds)]

    def init_one(self, seed: int) -> State:
        init_key, data_key = jax.random.split(jax.random.PRNGKey(seed))
        params = self.net.init(init_key, jnp.zeros((1, 16, 16), jnp.float32))["params"]
        return State(params, self.tx.init(params), data_key)

    def init(self) -> State:
        return jax.tree.map(lambda *xs: jnp.stack(xs), *[self.init_one(s) for s in self.seeds()])

    def loss_fn(self, params, x, y, dropout_key):
        outputs = self.net.apply({"params": params}, x[None], train=True, rngs={"dropout": dropout_key})
        return self.loss(outputs, y[None]).mean()

    def _one_seed_epoch(self, state: State, epoch, X, Y) -> State:
        first_step = epoch * self.n_train
        max_shift = self.variant.shift_pixels

        def step(carry, sample):
            params, opt_state = carry
            i, x, y = sample
            shift_key, dropout_key = jax.random.split(jax.random.fold_in(state.data_key, first_step + i))
            if max_shift:
                x = random_shift(x, shift_key, max_shift)
            grads = jax.grad(self.loss_fn)(params, x, y, dropout_key)
            updates, opt_state = self.tx.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), None

        samples = (jnp.arange(X.shape[0]), X, Y)
        (params, opt_state), _ = jax.lax.scan(step, (state.params, state.opt_state), samples)
        return State(params, opt_state, state.data_key)

    def train_epoch(self, state: State, epoch: int, X, Y) -> State:
        return self._epoch(state, jnp.int32(epoch), X, Y)

    def _one_seed_predict(self, params, X):
        return self.net.apply({"params": params}, X)

    def predict(self, params, X) -> np.ndarray:
        """Outputs (n_seeds, n, 10) of every seed on X, no dropout, no shift."""
        return np.asarray(self._predict(params, X))

    def score(self, params, X, Y) -> dict:
        outputs = self.predict(params, X)
        losses = np.asarray(self.loss(outputs, np.asarray(Y)[None])).mean(axis=-1)
        return {"outputs": outputs, "loss": losses}
