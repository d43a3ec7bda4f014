"""The one schema of params.yaml. Every stage validates the whole file before it writes anything."""

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from errors import ParamsError


class Strict(BaseModel):
    # strict: "3e-4" (a string to YAML 1.1) is refused instead of being coerced quietly.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Data(Strict):
    source: Literal["pypi", "torchvision"]


class Prepare(Strict):
    n_train: int = Field(ge=1, le=60000)
    n_test: int = Field(ge=1, le=10000)
    subset_seed: int = Field(ge=0)
    antialias: bool


class Variant(Strict):
    activation: Literal["tanh", "relu"]
    head: Literal["tanh", "linear"]
    loss: Literal["mse", "softmax_xent"]
    init: Literal["uniform_2.4_sqrt_fan_in", "uniform_2.4_fan_in", "he_uniform", "lecun_normal"]
    output_bias_init: float
    optimizer: Literal["sgd", "adamw"]
    lr: float = Field(gt=0, le=100)
    lr_schedule: Literal["constant", "linear"]
    lr_end: float = Field(gt=0, le=100)
    weight_decay: float = Field(ge=0, lt=1)
    batch_size: Literal[1]
    epochs: int = Field(ge=1, le=1000)
    shift_pixels: int = Field(ge=0, le=4)
    shift_fill: Literal["wrap"]
    dropout: float = Field(ge=0, lt=1)
    n_seeds: int = Field(ge=1, le=64)
    seed: int = Field(ge=0, lt=2**31)

    @model_validator(mode="after")
    def _consistent(self):
        if self.lr_schedule == "constant" and self.lr_end != self.lr:
            raise ValueError(f"lr_schedule 'constant' needs lr_end == lr (got lr {self.lr}, lr_end {self.lr_end})")
        if self.optimizer == "sgd" and self.weight_decay != 0:
            raise ValueError("weight_decay is applied by adamw only; set it to 0.0 for sgd")
        return self


class Params(Strict):
    data: Data
    prepare: Prepare
    variants: dict[str, Variant] = Field(min_length=1)

    @model_validator(mode="after")
    def _names(self):
        for name in self.variants:
            if not name.replace("_", "").isalnum() or not name.islower():
                raise ValueError(f"variant name {name!r}: use lower-case letters, digits and '_' only")
        return self


def _describe(error: dict) -> str:
    where = ".".join(str(part) for part in error["loc"]) or "(top level)"
    if error["type"] == "extra_forbidden":
        return f"{where}: unknown key; remove it or fix its spelling"
    if error["type"] == "missing":
        return f"{where}: missing; every hyperparameter must be written out"
    return f"{where} = {error.get('input')!r}: {error['msg']}"


def load_params(path: str | Path = "params.yaml") -> Params:
    path = Path(path)
    if not path.is_file():
        raise ParamsError(f"{path} is not a file; run from the repository root or pass --params")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise ParamsError(f"{path} is not valid YAML: {e}") from None
    try:
        return Params.model_validate(raw if raw is not None else {})
    except ValidationError as e:
        lines = [_describe(err) for err in e.errors(include_url=False)]
        raise ParamsError(f"{path}: " + "; ".join(lines)) from None


def load_variant(name: str, path: str | Path = "params.yaml") -> Variant:
    params = load_params(path)
    if name not in params.variants:
        raise ParamsError(f"variant {name!r} is not in {path}; known: {', '.join(params.variants)}")
    return params.variants[name]
