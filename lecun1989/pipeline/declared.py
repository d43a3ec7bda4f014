"""A stage writes only the outputs dvc.yaml declares for it, whoever starts it: DVC, or a person
typing its command. The outputs are read from dvc.yaml itself (in the folder the stage runs in, as
DVC runs it), each foreach stage expanded over the keys of params.yaml, so there is no second list to
drift from it. A stage script's stages are those of dvc.yaml whose command runs it
(`python -m stages.<script>`); for a foreach stage, the one of the key the script was given.

An output given to the script must be one of its stage's declared outputs, or the folder that
several of them share, holding no other stage's (the train stage's DVCLive folder, declared in
parts). Anything else, another stage's metrics file for one, is refused before any work."""

import os
import re
from pathlib import Path

import yaml

from lecun1989.pipeline.errors import OutputError

DVC_YAML = Path("dvc.yaml")
FIELD = re.compile(r"\$\{\s*(key|item\.[a-z_]+)\s*\}")  # what a foreach body of dvc.yaml refers to
FOREACH = re.compile(r"\$\{\s*([a-z_]+)\s*\}")  # foreach: ${variants}
KINDS = ("outs", "metrics", "plots")  # what DVC counts as a stage's outputs


def _unreadable(why: str) -> OutputError:
    return OutputError(f"{DVC_YAML} cannot tell this stage's outputs ({why}): restore it (git checkout {DVC_YAML}) and rerun")


def _expand(text: str, key: str | None, item: dict) -> str:
    def value(match: re.Match) -> str:
        name = match.group(1)
        if name == "key" and key is not None:
            return key
        field = name.removeprefix("item.")
        if name.startswith("item.") and isinstance(item.get(field), str):
            return item[field]
        raise _unreadable(f"{text!r} refers to {name}, which is no key or name of params.yaml")

    return FIELD.sub(value, text)


def _entries(body: dict) -> list[str]:
    paths = []
    for kind in KINDS:
        for entry in body.get(kind) or []:
            path = entry if isinstance(entry, str) else next(iter(entry), None) if isinstance(entry, dict) and len(entry) == 1 else None
            if not isinstance(path, str):
                raise _unreadable(f"an entry of {kind} is {entry!r}")
            paths.append(path)
    return paths


def _script(body: dict) -> str | None:
    """The stage script a stage's command runs, e.g. 'train' for `python -m stages.train ...`."""
    cmds = body.get("cmd")
    for cmd in cmds if isinstance(cmds, list) else str(cmds or "").splitlines():
        words = str(cmd).split()
        if words[:2] == ["python", "-m"] and len(words) > 2 and words[2].startswith("stages."):
            return words[2].removeprefix("stages.")
    return None


def stages(params, dvc_yaml: Path = DVC_YAML) -> dict[str, tuple[str | None, list[str]]]:
    """{stage address: (its script, its declared outputs)} of every stage of dvc.yaml, each foreach
    stage expanded over its section of `params` (schema.Params) as DVC expands it."""
    if not dvc_yaml.is_file():
        raise OutputError(
            f"no {dvc_yaml} in {Path.cwd()}: a stage writes only the outputs dvc.yaml declares for it; run it in the repository's root"
        )
    try:
        document = yaml.load(dvc_yaml.read_text(), Loader=yaml.CSafeLoader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise _unreadable(f"{type(e).__name__}") from None
    listed = document.get("stages") if isinstance(document, dict) else None
    if not isinstance(listed, dict):
        raise _unreadable("no mapping of stages")
    found = {}
    for name, stage in listed.items():
        if not isinstance(stage, dict):
            raise _unreadable(f"stage {name!r} is not a mapping")
        if "foreach" not in stage:
            found[name] = (_script(stage), _entries(stage))
            continue
        section = FOREACH.fullmatch(str(stage["foreach"]))
        body = stage.get("do")
        if section is None or not isinstance(getattr(params, section.group(1), None), dict) or not isinstance(body, dict):
            raise _unreadable(f"stage {name!r} is not a foreach over a section of params.yaml")
        for key, item in getattr(params, section.group(1)).items():
            item = item.model_dump(mode="json")
            found[f"{name}@{key}"] = (_script(body), [_expand(p, key, item) for p in _entries(body)])
    return found


def _holds(folder: Path, path: Path) -> bool:
    return folder == path or folder in path.parents


def check(script: str, key: str | None, paths, params, dvc_yaml: Path = DVC_YAML) -> None:
    """Refuse, naming it, any of `paths` that is not an output dvc.yaml declares for the stage of
    `script` and `key` (or a folder holding some of those and nothing another stage declares)."""
    every = stages(params, dvc_yaml)
    mine = {name for name, (runs, _) in every.items() if runs == script and name.partition("@")[2] == (key or "")}
    if not mine:
        raise OutputError(f"{dvc_yaml} has no stage that runs stages.{script} for {key!r}: add it to dvc.yaml, or give a key it has")
    own = [Path(p).resolve() for name in mine for p in every[name][1]]
    others = [(name, Path(p).resolve()) for name, (_, outs) in every.items() if name not in mine for p in outs]
    stage = " or ".join(sorted(mine))
    for path in map(Path, paths):
        real = path.resolve()
        owner = next((name for name, out in others if _holds(out, real) or _holds(real, out)), None)
        inside = [out for out in own if real in out.parents]
        if real in own or (owner is None and len(inside) > 1 and Path(os.path.commonpath(inside)) == real):
            continue
        whose = f"it is {owner}'s" if owner else "no stage declares it"
        listed = ", ".join(p for name in sorted(mine) for p in every[name][1])
        raise OutputError(
            f"{path} is not an output of {stage} in {dvc_yaml} ({whose}): not writing it; give the paths dvc.yaml declares ({listed})"
        )
