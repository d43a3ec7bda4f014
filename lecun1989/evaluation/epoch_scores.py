"""Every run's scores after a training epoch, as the train stage logs them in its curves: each
run's outputs on each split, scored by scoring.score (loss, exact misses, error %)."""

import numpy as np

from lecun1989.evaluation import scoring
from lecun1989.training.threads import each_run_then, run_data


def score(trainer, states, X, Y) -> dict:
    """scoring.score of every run's outputs on X against Y (one set for every run, or one per run)."""
    labels = np.stack([np.asarray(run_data(Y, i)) for i in range(len(trainer.seeds))])
    return scoring.score(trainer.predict(states, X), labels, trainer.variant.loss)


def train_and_score(trainer, states, epoch: int, X, Y, splits: dict) -> tuple:
    """(trainer.train_epoch(...), {split: score(trainer, states, x, y)} for splits {name: (x, y)}), the
    same values, with each run's evaluation queued as soon as its epoch is trained: with more runs
    than cores, the last runs' epochs train beside the first runs' evaluations instead of beside idle cores."""
    if trainer.vectorized:
        states = trainer.train_epoch(states, epoch, X, Y)
        return states, {split: score(trainer, states, x, y) for split, (x, y) in splits.items()}
    names = list(splits)

    def train(i):
        return trainer.train_run(states[i], epoch, run_data(X, i), run_data(Y, i))

    def predict_and_score(i, j, state):  # run i on split j, scored here: on the pool, not after it
        x, y = (run_data(d, i) for d in splits[names[j]])
        return scoring.score(trainer.predict_run(state, x)[None], np.asarray(y)[None], trainer.variant.loss)

    states, scored = each_run_then(train, predict_and_score, len(trainer.seeds), len(names))
    return states, {split: scoring.stack_runs([row[j] for row in scored]) for j, split in enumerate(names)}
