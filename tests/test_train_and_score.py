"""epoch_scores.train_and_score (each run's evaluation queued as soon as its epoch is trained, as the train
stage uses it) gives exactly train_epoch's states and score's scores, with more runs than cores."""

import jax
import numpy as np
import pytest
from helpers import tiny_data, variant

from lecun1989.evaluation import epoch_scores
from lecun1989.training.runs import Trainer


@pytest.mark.parametrize("name", ["lecun1989", "change4_relu_dropout"])
def test_train_and_score_equals_train_epoch_then_score(name):
    splits = {"train": tiny_data(40, 0), "val": tiny_data(12, 1), "test": tiny_data(16, 2)}
    X, Y = splits["train"]
    runs = Trainer(variant(name), len(Y), [0, 1, 2, 3, 4], name=name)
    apart = together = runs.init()
    for epoch in range(2):
        apart = runs.train_epoch(apart, epoch, X, Y)
        expected = {split: epoch_scores.score(runs, apart, x, y) for split, (x, y) in splits.items()}
        together, scores = epoch_scores.train_and_score(runs, together, epoch, X, Y, splits)
        assert list(scores) == list(expected)
        for split in splits:
            for key, value in expected[split].items():
                assert np.asarray(scores[split][key]).tobytes() == np.asarray(value).tobytes(), (split, key)
        for a, b in zip(jax.tree.leaves(runs.weights(apart)), jax.tree.leaves(runs.weights(together))):
            assert np.asarray(a).tobytes() == np.asarray(b).tobytes()
