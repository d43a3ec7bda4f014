"""The optimizers a variant can name, as optax transformations (the reference and XLA engines)."""

import optax

from lecun1989.pipeline.errors import PipelineError
from lecun1989.training.schedule import ADAM_B1, ADAM_B2, ADAM_EPS, learning_rate
from lecun1989.training.sdlm import sdlm


def make_optimizer(variant, n_train: int) -> optax.GradientTransformation:
    lr = learning_rate(variant, n_train)
    if variant.optimizer == "sgd":
        return optax.sgd(lr)
    if variant.optimizer == "sdlm":
        return sdlm(lr, variant.sdlm.mu)  # update(...) takes hessian=h, the curvature before the epoch
    if variant.optimizer == "adamw":
        return optax.adamw(lr, b1=ADAM_B1, b2=ADAM_B2, eps=ADAM_EPS, weight_decay=variant.weight_decay)
    raise PipelineError(f"optimizer {variant.optimizer!r} has no optax builder: add its branch to make_optimizer (docs/extending.md)")
