"""dvc.yaml lists, for every stage, each of the package's modules its script runs (transitively),
itself or through a folder that holds it: otherwise an edit to that module leaves stale outputs that
`dvc status` calls up to date. The native engine's C++ sources count as modules of the Python file
that builds them."""

import ast
import re
from pathlib import Path
from typing import Literal, get_args, get_origin

import yaml

from lecun1989.pipeline import schema
from lecun1989.training.native import build

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "lecun1989"
# Modules that only validate params or inputs, check output paths, report errors or write files
# atomically: they cannot change an output's bytes, and listing them would rerun every stage
# (download included) on each edit.
NO_OUTPUT_EFFECT = {
    f"{PACKAGE}/pipeline/{m}.py"
    for m in (
        "params",
        "schema",
        "yaml12",
        "errors",
        "atomic",
        "output_guard",
        "inputs",
        "lifetime",
        "readers",
        "dvc_state",
        "declared",
        "lockfile",
    )
}
CHECK_STAGE = "check_params"  # the one stage that is no stage script: python -m lecun1989.pipeline.params
STAMP = "data/params.checked"


def module_file(dotted: str) -> Path | None:
    """The file of a module of the package (lecun1989.data.idx -> lecun1989/data/idx.py), or None."""
    if dotted.split(".")[0] != PACKAGE:
        return None
    base = ROOT / dotted.replace(".", "/")
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def imported_files(path: Path) -> set[Path]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {module_file(a.name) for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(module_file(node.module))
            found |= {module_file(f"{node.module}.{a.name}") for a in node.names}  # from pkg import module
    return found - {None}


def local_files(script: Path) -> set[str]:
    seen, todo = set(), [script]
    while todo:
        path = todo.pop()
        if path not in seen:
            seen.add(path)
            todo += imported_files(path)
    return {str(p.relative_to(ROOT)) for p in seen if p.name != "__init__.py"}  # __init__s hold docstrings only


KEY_CHECK = "python -m lecun1989.pipeline.params params.yaml"  # a stage's first command where the next holds keys


def commands(body) -> list[str]:
    """The commands of a stage, as DVC runs them: a list as given, a string one a line."""
    return body["cmd"] if isinstance(body["cmd"], list) else body["cmd"].splitlines()


def script(body) -> str:
    """The stage's own command: the last one (before it, at most the params check)."""
    return commands(body)[-1]


def stage_bodies(include_check=False):
    for name, stage in yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"].items():
        if name != CHECK_STAGE or include_check:
            yield name, stage.get("do", stage)


def test_params_are_checked_before_any_stage_runs():
    """DVC deletes a stage's outputs before running its command: the whole params.yaml is checked
    by a first stage that every other stage depends on, so a refused edit deletes nothing."""
    bodies = dict(stage_bodies(include_check=True))
    check = bodies.pop(CHECK_STAGE)
    assert check["cmd"].split()[:4] == ["python", "-m", "lecun1989.pipeline.params", "params.yaml"]
    assert "params.yaml" in check["deps"]
    (stamp,) = check["outs"]
    assert stamp == {STAMP: {"cache": False, "persist": True}}
    assert bodies and all(STAMP in body["deps"] for body in bodies.values())


def test_every_stage_runs_a_module_of_this_checkout():
    """`python -m stages.<name>` (or a module of the package, for the report) puts the stage's own
    checkout first on sys.path, so a clone (make verify, dvc exp run --queue) runs its own package,
    not the one installed in the venv."""
    for name, body in stage_bodies():
        words = script(body).split()
        assert words[:2] == ["python", "-m"] and words[2].split(".")[0] in ("stages", PACKAGE), f"{name}: {body['cmd']}"
        assert commands(body)[:-1] in ([], [KEY_CHECK]), f"{name}: {body['cmd']}"


def is_name(info) -> bool:
    """A field the schema makes a name: a string matching schema.NAME, or a choice of such names."""
    if get_origin(info.annotation) is Literal:
        return all(isinstance(v, str) and re.fullmatch(schema.NAME, v) for v in get_args(info.annotation))
    return info.annotation is str and any(getattr(m, "pattern", None) == schema.NAME for m in info.metadata)


NAME_FIELDS = {"key"} | {
    f"item.{f}" for model in (schema.Variant, schema.Dataset) for f, info in model.model_fields.items() if is_name(info)
}


def test_no_key_of_params_reaches_a_shell_unchecked():
    """DVC pastes ${key} and ${item.<field>} into a command's text unquoted and runs it in a shell
    ($SHELL -c), one command after another, stopping at the first that fails (dvc/stage/run.py).
    A command that holds one comes after the params check, which refuses a key or name of
    params.yaml that is not a plain name, and holds only values the schema makes names."""
    for name, body in stage_bodies(include_check=True):
        cmds = commands(body)
        for i, cmd in enumerate(cmds):
            held = set(re.findall(r"\$\{\s*([^}]*?)\s*\}", cmd))
            assert held <= NAME_FIELDS, f"{name}: {cmd!r} holds {held - NAME_FIELDS}, which the schema does not make a name"
            assert not held or cmds[:i] == [KEY_CHECK], f"{name}: {cmd!r} holds keys of params.yaml but is not after {KEY_CHECK!r}"


NATIVE = f"{PACKAGE}/training/native"
NATIVE_SOURCES = {f"{NATIVE}/{name}" for name in build.SOURCES}


def included(source: str) -> set[str]:
    """source and the folder's headers it includes, transitively (codes.h is written from codes.py)."""
    seen, todo = set(), [source]
    while todo:
        path = todo.pop()
        if path not in seen and (ROOT / path).is_file():
            seen.add(path)
            todo += [f"{NATIVE}/{h}" for h in re.findall(r'^#include "([^"]+)"', (ROOT / path).read_text(), re.M)]
    return seen


FORWARD_PASS = included(f"{NATIVE}/predict.cc")
TRAINING_ONLY = NATIVE_SOURCES - FORWARD_PASS  # the library's training half


def covered(path: str, deps) -> bool:
    return any(path == d or path.startswith(d.rstrip("/") + "/") for d in deps)


def stage_files(body) -> set[str]:
    """The package files a stage's command runs: its modules, and the C++ sources of the native
    library where it loads it (for a stage that only predicts, the forward pass's sources)."""
    files = local_files(ROOT / (script(body).split()[2].replace(".", "/") + ".py"))
    if f"{NATIVE}/build.py" in files:
        files |= NATIVE_SOURCES if f"{NATIVE}/native_engine.py" in files else FORWARD_PASS
    return files


def test_every_stage_depends_on_the_modules_it_runs():
    missing = {}
    for name, body in stage_bodies():
        lacking = {f for f in stage_files(body) - NO_OUTPUT_EFFECT if not covered(f, body["deps"])}
        if lacking:
            missing[name] = sorted(lacking)
    assert not missing, f"stages whose deps miss modules they run: {missing}"


def test_the_native_sources_split_into_forward_pass_and_training():
    assert FORWARD_PASS <= NATIVE_SOURCES and f"{NATIVE}/forward8.h" in FORWARD_PASS
    assert {f"{NATIVE}/epoch.cc", f"{NATIVE}/backward.h", f"{NATIVE}/optimizers.h", f"{NATIVE}/draws.h"} <= TRAINING_ONLY


def test_evaluation_depends_on_no_training_code():
    """Editing an optimizer or the training loop reruns the train stages only."""
    evaluate = dict(stage_bodies())["evaluate"]
    training = {f"{PACKAGE}/training/{m}.py" for m in ("optimizers", "sdlm", "runs", "xla", "engines", "draws", "schedule", "optax_scan")}
    ran = stage_files(evaluate)
    assert not ran & (training | TRAINING_ONLY | {f"{NATIVE}/native_engine.py"}), sorted(ran & training)
    assert not any(covered(f, evaluate["deps"]) for f in training | TRAINING_ONLY), evaluate["deps"]


def test_init_files_hold_docstrings_only():
    """__init__.py files are not listed as deps: they must not be able to change an output."""
    for path in (ROOT / PACKAGE).rglob("__init__.py"):
        body = ast.parse(path.read_text()).body
        assert len(body) == 1 and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant), path
