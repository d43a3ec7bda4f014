"""docs/extending.md's recipes: every file their lists name exists, and the XLA recipe, followed on a
copy of the tiny pipeline (the files of its list edited, and no others), trains a new optax optimizer
on the XLA engine, printing the one line the page shows."""

import json
import logging
import re
from types import SimpleNamespace

import pipeline
import pytest
import yaml
from helpers import variant
from pages import code_blocks, commands
from pipeline import ROOT

from lecun1989.pipeline.errors import PipelineError
from lecun1989.training import engines
from lecun1989.training.engine_choice import choose
from lecun1989.training.optimizers import make_optimizer

PAGE = (ROOT / "docs/extending.md").read_text()
XLA_RECIPE = "## A new optax optimizer on the XLA engine"
NATIVE_RECIPE = "## A new optimizer in the native engine"
LR_PATH = "### The path of `lr`, from params.yaml to the kernel"
NAME, OPTIMIZER = "change2_lion", "lion"  # the page's example


def section(heading: str) -> str:
    """The page's text under heading, up to the next heading of the same or a higher level."""
    level = heading.split()[0]
    start = PAGE.index(f"\n{heading}\n") + len(heading) + 2
    following = re.search(rf"^#{{1,{len(level)}}} ", PAGE[start:], re.M)
    return PAGE[start : start + following.start() if following else len(PAGE)]


def listed_files(heading: str) -> list[str]:
    """The paths of the section's first Markdown list: the first code span of each item."""
    items, started = [], False
    for line in section(heading).splitlines():
        if re.match(r"(- |\d+\. )", line):
            items.append(re.search(r"`([^`]+)`", line).group(1))
            started = True
        elif started and not line.startswith(" "):
            break
    return items


@pytest.mark.parametrize("heading", [XLA_RECIPE, NATIVE_RECIPE, LR_PATH])
def test_every_file_a_recipe_lists_exists(heading):
    files = listed_files(heading)
    assert files, f"no list under {heading}"
    assert len(set(files)) == len(files) or heading == LR_PATH, f"a file listed twice under {heading}: {files}"
    missing = [f for f in files if not (ROOT / f).is_file()]
    assert not missing, f"docs/extending.md, {heading}: no such file {missing}: update the list"


def test_an_optimizer_without_native_code_trains_on_xla_with_the_reason():
    lion = variant("change4_relu_dropout").model_copy(update={"optimizer": OPTIMIZER, "weight_decay": 0.0})
    why = f"optimizer {OPTIMIZER!r} is not in the native engine"
    assert choose(lion, "auto", vectorized=False) == ("xla", why)
    assert choose(lion, "xla", vectorized=False) == ("xla", "")
    with pytest.raises(PipelineError, match=re.escape(why)):
        choose(lion, "native", vectorized=False)


def test_the_fallback_line_for_an_optimizer_without_native_code_does_not_suggest_make_native(caplog, monkeypatch):
    lion = variant("change4_relu_dropout").model_copy(update={"optimizer": OPTIMIZER, "weight_decay": 0.0})
    monkeypatch.setattr(engines, "make_engine", lambda name, v, n: SimpleNamespace(name=name))  # no builder for lion here
    engines._say.cache_clear()
    with caplog.at_level(logging.WARNING, logger=engines.__name__):
        assert engines.training_engine(lion, 100, "auto", vectorized=False, name=NAME).name == "xla"
    line = next(body[0] for marker, body, _ in code_blocks(section(XLA_RECIPE)) if body[0].startswith(f"{NAME}: "))
    assert [r.getMessage() for r in caplog.records] == [line]


def test_an_optimizer_the_schema_allows_but_no_builder_builds_is_refused():
    lion = variant("change4_relu_dropout").model_copy(update={"optimizer": OPTIMIZER, "weight_decay": 0.0})
    with pytest.raises(PipelineError, match=f"optimizer '{OPTIMIZER}' has no optax builder: add its branch to make_optimizer"):
        make_optimizer(lion, 100)


# The XLA recipe's edits, each found by what the file holds, so that a listed file may move.
CHOICES = re.compile(r"(\boptimizer: Literal\[)([^\]]*)(\])")
BUILDER = re.compile(r"^( +)if variant\.optimizer == \"sgd\":", re.M)


def add_choice(text: str) -> str:
    return CHOICES.sub(rf'\g<1>\g<2>, "{OPTIMIZER}"\g<3>', text, count=1)


def add_builder(text: str) -> str:
    branch = rf'\g<1>if variant.optimizer == "{OPTIMIZER}":\n\g<1>    return optax.lion(lr, weight_decay=0.0)\n\g<0>'
    return BUILDER.sub(branch, text, count=1)


def add_variant(text: str) -> str:
    params = yaml.safe_load(text)
    base = params["variants"]["change4_relu_dropout"]  # its shifts and dropout, trained by Lion
    params["variants"][NAME] = {**base, "optimizer": OPTIMIZER, "lr": 1.0e-4, "lr_end": 3.0e-5, "weight_decay": 0.0}
    return pipeline.dump_params(params)


def follow_the_xla_recipe(repo) -> dict[str, str]:
    """Edit the files of the XLA recipe's list: {path: which edit}, one edit per file."""
    done = {}
    for path in listed_files(XLA_RECIPE):
        text = (repo / path).read_text()
        if path.endswith("params.yaml"):
            edit = add_variant
        elif CHOICES.search(text):
            edit = add_choice
        elif BUILDER.search(text):
            edit = add_builder
        else:
            raise AssertionError(f"{path}: listed by the XLA recipe, but holds neither the optimizer's choices nor its builder")
        (repo / path).write_text(edit(text))
        done[path] = edit.__name__
    assert sorted(done.values()) == ["add_builder", "add_choice", "add_variant"], done
    return done


@pytest.mark.pipeline
def test_the_xla_recipe_trains_a_new_optax_optimizer(tiny_repo):
    pipeline.run(["git", "add", "-A"], tiny_repo)
    pipeline.run(["git", "commit", "-q", "-m", "tiny pipeline, reproduced"], tiny_repo)
    follow_the_xla_recipe(tiny_repo)
    edited = pipeline.run(["git", "diff", "--name-only", "HEAD"], tiny_repo).stdout.split()
    assert sorted(edited) == sorted(listed_files(XLA_RECIPE)), "the recipe's list is not the files it edits"

    body = next(body for marker, body, _ in code_blocks(section(XLA_RECIPE)) if marker == "not run")
    (command,) = commands(body)
    result = pipeline.run(command.split(), tiny_repo)
    line = next(body[0] for marker, body, _ in code_blocks(section(XLA_RECIPE)) if body[0].startswith(f"{NAME}: "))
    assert line in (result.stdout + result.stderr).splitlines(), result.stdout + result.stderr
    assert (tiny_repo / f"models/{NAME}.msgpack").is_file()
    metrics = json.loads((tiny_repo / f"metrics/{NAME}.json").read_text())
    assert metrics["engine"]["train"].startswith("xla engine"), metrics["engine"]
