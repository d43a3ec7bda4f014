"""The one schema of params.yaml. Every stage validates the whole file before it writes anything.

Run as a module, it is the pipeline's first DVC stage, check_params: `python -m
lecun1989.pipeline.params PARAMS STAMP` validates the whole PARAMS file and writes STAMP, whose
bytes never change. Every other stage depends on STAMP, so DVC runs this check before it deletes
any stage's outputs, and a refused edit (a bad value, an unknown key at any level) costs nothing;
an accepted edit reruns the check and then only the stages whose own params changed."""

import argparse
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from lecun1989.pipeline import guard
from lecun1989.pipeline.atomic import write_bytes
from lecun1989.pipeline.errors import ParamsError, run_stage

STAMP = b"params checked against lecun1989/pipeline/params.py\n"
STAMP_KIND = guard.file_starting("the check_params stage's stamp file", STAMP)


class Strict(BaseModel):
    # strict: "3e-4" (a string to YAML 1.1) is refused instead of being coerced quietly.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)


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
    lr_end: float | None = Field(gt=0, le=100)  # linear schedule only; null for constant
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
        if self.lr_schedule == "constant" and self.lr_end is not None:
            raise ValueError(f"lr_end = {self.lr_end!r} with lr_schedule 'constant': set lr_end to null (or use 'linear')")
        if self.lr_schedule == "linear" and self.lr_end is None:
            raise ValueError("lr_end = None with lr_schedule 'linear': give the learning rate at the last step")
        if self.optimizer == "sgd" and self.weight_decay != 0:
            raise ValueError(f"weight_decay = {self.weight_decay!r} with optimizer 'sgd': only adamw applies it, set 0.0")
        return self


VariantName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]+$")]  # becomes a DVC stage name


class Params(Strict):
    data: Data
    prepare: Prepare
    variants: dict[VariantName, Variant] = Field(min_length=1)


SECTIONS = {"data": Data, "prepare": Prepare, "variants": Variant}


def _allowed_keys(loc: tuple) -> list[str]:
    model = SECTIONS.get(loc[0]) if len(loc) > 1 else Params
    return list(model.model_fields) if model else []


def _describe(error: dict) -> str:
    """One error as `key.path = value: what is allowed`."""
    loc = error["loc"]
    where = ".".join(str(part) for part in loc) or "(top level)"
    value = error.get("input")
    if error["type"] == "extra_forbidden":
        return f"{where} = {value!r}: unknown key; allowed keys: {', '.join(_allowed_keys(loc))}"
    if error["type"] == "missing":
        return f"{where}: missing; every hyperparameter must be written out"
    if error["type"] == "value_error":  # a cross-field rule: its message names the keys and values
        return f"{where}: {error['msg'].removeprefix('Value error, ')}"
    hint = ""
    if isinstance(value, str):
        try:
            float(value)
            hint = " (YAML 1.1 reads a float without a dot as a string: write 3.0e-4, not 3e-4)"
        except ValueError:
            pass
    return f"{where} = {value!r}: {error['msg']}{hint}"


def load_params(path: str | Path = "params.yaml") -> Params:
    path = Path(path)
    if not path.is_file():
        raise ParamsError(f"{path} is not a file; run from the repository root or pass --params")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise ParamsError(f"{path} is not valid YAML{where}: {getattr(e, 'problem', None) or e}") from None
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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("params", help="the params file, e.g. params.yaml")
    parser.add_argument("stamp", help="output: a file of constant bytes, written when the params are valid, e.g. data/params.checked")
    args = parser.parse_args(argv)
    load_params(args.params)
    guard.check({args.stamp: STAMP_KIND}, inputs=[args.params])
    write_bytes(args.stamp, STAMP)


if __name__ == "__main__":
    run_stage(main)
