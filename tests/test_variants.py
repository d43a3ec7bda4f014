"""Every variant of params.yaml through training.runs.Trainer's public interface (the engine a stage
picks by default) on tiny data: it builds, trains, stays finite; seeds trained together equal seeds
trained alone; evaluation has no dropout or shift."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import VARIANTS, make_runs, n_params, seed_slice, tiny_data, train, variant

from lecun1989.evaluation import epoch_scores
from lecun1989.network import model
from lecun1989.training import threads

N = 20


def leaves(tree):
    return [np.asarray(a) for a in jax.tree.leaves(tree)]


@pytest.fixture(scope="module")
def data():
    x, y = tiny_data(N, seed=31)
    return jnp.asarray(x), jnp.asarray(y)


SEED, N_SEEDS, EPOCHS = 5, 3, 2


@pytest.fixture(scope="module")
def trained(data):
    """Each variant, 3 seeds in one Trainer, before and after 2 epochs on N digits (shared by several
    tests: every compile costs seconds here)."""
    X, Y = data
    out = {}
    for name in VARIANTS:
        runs = make_runs(variant(name, epochs=EPOCHS, n_seeds=N_SEEDS, seed=SEED), N)
        state0 = runs.init()
        out[name] = (runs, state0, train(runs, X, Y, EPOCHS, state0))
    return out


def test_every_variant_is_tested():
    assert VARIANTS == (
        "lecun1989",
        "change1_softmax",
        "change2_adamw",
        "change3_shift",
        "change4_relu_dropout",
        "lecun1989_paper",
        "lecun1989_50k",
        "change4_50k",
        "lecun1989_usps",
        "lecun1989_paper_usps",
        "change4_usps",
    )


@pytest.mark.parametrize("name", VARIANTS)
def test_variant_trains_on_tiny_data(name, trained, data):
    trainer, state0, state1 = trained[name]
    X, Y = data
    assert trainer.seeds == [5, 6, 7]
    p0, p1 = leaves(trainer.params(state0)), leaves(trainer.params(state1))
    assert n_params(seed_slice(trainer.params(state1), 0)) == 9760
    for a, b in zip(p0, p1):
        assert a.shape == b.shape and a.shape[0] == N_SEEDS
        assert np.isfinite(b).all()
    for s in range(N_SEEDS):
        changed = [not np.array_equal(a[s], b[s]) for a, b in zip(p0, p1)]
        assert sum(changed) >= len(changed) - 1, f"seed {s}: only {sum(changed)} of {len(changed)} parameter arrays moved"
        assert all(changed[i] for i, a in enumerate(p0) if a[s].ndim >= 3 or a[s].shape[0] > 30)  # every kernel moved
    # the two seeds are different networks
    assert not np.array_equal(p1[0][0], p1[0][1]) and not np.array_equal(p1[0][1], p1[0][2])
    # and training on these digits lowered their loss (evaluation mode, per seed)
    loss0, loss1 = epoch_scores.score(trainer, state0, X, Y)["loss"], epoch_scores.score(trainer, state1, X, Y)["loss"]
    assert loss0.shape == (N_SEEDS,) and np.isfinite(loss1).all()
    assert (loss1 < loss0).all(), (loss0, loss1)


@pytest.mark.parametrize("name", VARIANTS)
def test_score_is_the_variants_loss_of_predict(name, trained, data):
    trainer, _, state1 = trained[name]
    X, Y = data
    v = trainer.variant
    s = epoch_scores.score(trainer, state1, X, Y)
    outputs = np.asarray(s["outputs"], np.float64)
    np.testing.assert_array_equal(s["outputs"], trainer.predict(state1, X))
    y = np.asarray(Y)
    if v.loss == "mse":
        targets = np.where(np.arange(10) == y[:, None], 1.0, -1.0)
        want = ((outputs - targets) ** 2).mean(axis=-1).mean(axis=-1)
    else:
        z = outputs - outputs.max(-1, keepdims=True)
        want = (np.log(np.exp(z).sum(-1)) - z[:, np.arange(N), y]).mean(-1)
    np.testing.assert_allclose(s["loss"], want, rtol=1e-5)


@pytest.mark.parametrize("name", ["lecun1989", "change4_relu_dropout"])
def test_seeds_trained_together_equal_each_seed_trained_alone(name, trained, data):
    """3 seeds in one Trainer give, per seed, what that seed gives trained on its own
    (change4 also draws shifts and dropout masks from a per-seed stream)."""
    X, Y = data
    together, init_together, state = trained[name]
    pred_together = together.predict(state, X)
    for i, seed in enumerate(together.seeds):
        alone = make_runs(variant(name, epochs=EPOCHS, n_seeds=1, seed=seed), N)
        assert alone.seeds == [seed] and alone.engine.name == together.engine.name
        s = alone.init()
        for a, b in zip(leaves(together.params(init_together)), leaves(alone.params(s))):
            np.testing.assert_array_equal(a[i], b[0])  # same initialisation
        s = train(alone, X, Y, EPOCHS, s)
        for a, b in zip(leaves(together.params(state)), leaves(alone.params(s))):
            np.testing.assert_array_equal(a[i], b[0])  # every seed runs the same one-seed program
        np.testing.assert_allclose(pred_together[i], alone.predict(s, X)[0], rtol=2e-5, atol=2e-6)


def test_prediction_has_no_dropout_and_no_shift(trained, data):
    """predict() is deterministic and is the Flax reference model with train=False, per seed."""
    X, _ = data
    for name in ("change3_shift", "change4_relu_dropout"):
        trainer, _, state1 = trained[name]
        first, second = trainer.predict(state1, X), trainer.predict(state1, X)
        np.testing.assert_array_equal(first, second)
        net = model.build(trainer.variant)
        for s in range(N_SEEDS):
            params = jax.tree.map(lambda a: a[s], trainer.params(state1))
            reference = np.asarray(net.apply({"params": params}, X, train=False))
            np.testing.assert_allclose(first[s], reference, rtol=1e-5, atol=1e-6)
            if trainer.variant.dropout > 0:  # the reference really does drop units in training mode
                dropped = np.asarray(net.apply({"params": params}, X, train=True, rngs={"dropout": jax.random.PRNGKey(0)}))
                assert np.abs(dropped - reference).max() > 1e-3


def test_shift_is_on_in_training(trained):
    """change3 is change2 plus the shift (with equal epochs here): the same seeds end elsewhere."""
    v2, v3 = trained["change2_adamw"][0].variant, trained["change3_shift"][0].variant
    assert v2.model_dump() | {"shift_pixels": 1} == v3.model_dump()
    (r2, _, s2), (r3, _, s3) = trained["change2_adamw"], trained["change3_shift"]
    diff = max(np.abs(a - b).max() for a, b in zip(leaves(r2.params(s2)), leaves(r3.params(s3))))
    assert diff > 1e-4


def test_dropout_is_on_in_training(trained, data):
    X, Y = data
    with_dropout, _, with_it = trained["change4_relu_dropout"]
    trainer = make_runs(variant("change4_relu_dropout", epochs=EPOCHS, n_seeds=N_SEEDS, seed=SEED, dropout=0.0), N)
    without = train(trainer, X, Y, EPOCHS)
    diff = max(np.abs(a - b).max() for a, b in zip(leaves(with_dropout.params(with_it)), leaves(trainer.params(without))))
    assert diff > 1e-4


def test_training_is_repeatable(trained, data):
    """Shifts and dropout masks come from seeded streams: a second run gives bit-identical parameters."""
    X, Y = data
    first_runs, _, first = trained["change4_relu_dropout"]
    trainer = make_runs(variant("change4_relu_dropout", epochs=EPOCHS, n_seeds=N_SEEDS, seed=SEED), N)
    state = train(trainer, X, Y, EPOCHS)
    for a, b in zip(leaves(first_runs.params(first)), leaves(trainer.params(state))):
        np.testing.assert_array_equal(a, b)


def test_each_epoch_draws_new_shifts_and_dropout_masks(trained, data):
    """The epoch index feeds the random streams: the same state trained as epoch 0 or as epoch 1
    ends elsewhere for change3/change4, and identically for lecun1989 (no randomness at all)."""
    X, Y = data
    for name, random in (("lecun1989", False), ("change3_shift", True), ("change4_relu_dropout", True)):
        trainer, state0, _ = trained[name]
        as_first = leaves(trainer.params(trainer.train_epoch(state0, 0, X, Y)))
        as_second = leaves(trainer.params(trainer.train_epoch(state0, 1, X, Y)))
        same = all(np.array_equal(a, b) for a, b in zip(as_first, as_second))
        assert same != random, name


def test_seeds_on_two_threads_give_the_same_bits_as_on_one(data, monkeypatch):
    x, y = data
    trainer = make_runs(variant("change4_relu_dropout", n_seeds=4, epochs=1), len(y), mode="threads")
    start = trainer.init()
    monkeypatch.setattr(threads.os, "cpu_count", lambda: 2)
    threaded = trainer.train_epoch(start, 0, x, y)
    monkeypatch.setattr(threads.os, "cpu_count", lambda: 1)
    single = trainer.train_epoch(start, 0, x, y)
    assert max(np.abs(a - b).max() for a, b in zip(leaves(trainer.params(threaded)), leaves(trainer.params(start)))) > 1e-3
    for a, b in zip(leaves(trainer.params(threaded)), leaves(trainer.params(single))):
        np.testing.assert_array_equal(a, b)
