"""The random choices of training, the same for every engine: each step's shift (an index into
fastnet.shifts) and dropout, drawn from the run's key and the step's number, so that all engines see
the same digits (the native kernel draws them bit for bit the same way, native/draws.h)."""

import jax
import jax.numpy as jnp


def draws(key, step, max_shift: int):
    """The random choices of one training step: which shift (an index into fastnet.shifts) and the
    dropout key. Every engine uses these, so all of them see the same digits."""
    shift_key, dropout_key = jax.random.split(jax.random.fold_in(key, step))
    dx, dy = jax.random.randint(shift_key, (2,), -max_shift, max_shift + 1)
    return (dx + max_shift) * (2 * max_shift + 1) + (dy + max_shift), dropout_key


def epoch_draws(variant, key, epoch, n_train: int, n: int, masks: bool):
    """The epoch's shifts (n,) and dropout (keys, or (n, 16, 12) keep masks drawn as flax's Dropout
    draws them; None without dropout), drawn up front, vectorized: drawing them inside the step
    loop made the shift and dropout variants ~1.3-1.4x slower per step."""
    if not (variant.shift_pixels or variant.dropout):
        return jnp.zeros(n, jnp.int32), None
    steps = epoch * n_train + jnp.arange(n)
    shift, keys = jax.vmap(lambda i: draws(key, i, variant.shift_pixels))(steps)
    if not variant.dropout:
        return shift, None
    if masks:
        return shift, jax.vmap(lambda k: jax.random.bernoulli(k, 1.0 - variant.dropout, (16, 12)))(keys)
    return shift, keys
