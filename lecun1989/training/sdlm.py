"""Stochastic diagonal Levenberg-Marquardt (LeCun et al. 1998, appendix; "Efficient BackProp"),
the "special version of Newton's algorithm" of the 1989 paper: a gradient step in which every
weight k has its own step size lr / (mu + h_kk), with h_kk >= 0 an estimate of the loss's second
derivative with respect to it (network/hessian.py), re-estimated before each epoch by the engine.

An optax transformation with the extra-args protocol: h comes in as the keyword `hessian` of
update(grads, state, params, hessian=h), a pytree like grads."""

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax


class SdlmState(NamedTuple):
    count: jax.Array  # steps taken, for the learning-rate schedule


def sdlm(learning_rate: optax.ScalarOrSchedule, mu: float) -> optax.GradientTransformationExtraArgs:
    def init(params):
        del params
        return SdlmState(jnp.zeros([], jnp.int32))

    def update(updates, state, params=None, *, hessian, **extra_args):
        del params, extra_args
        lr = learning_rate(state.count) if callable(learning_rate) else learning_rate
        steps = jax.tree.map(lambda g, h: -lr * g / (mu + h), updates, hessian)
        return steps, SdlmState(optax.safe_increment(state.count))

    return optax.GradientTransformationExtraArgs(init, update)
