"""dvc.yaml lists, for every stage, each of the repository's modules its script runs (transitively):
otherwise an edit to that module leaves stale outputs that `dvc status` calls up to date."""

import ast
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
STAGES = ROOT / "stages"
# Modules that only validate params, report errors or write files atomically: they cannot change
# an output's bytes, and listing them would rerun every stage (download included) on each edit.
NO_OUTPUT_EFFECT = {"params", "errors", "atomic", "progress", "xla_cpu"}


def local_imports(module: str, seen=None) -> set[str]:
    seen = set() if seen is None else seen
    if module in seen:
        return seen
    seen.add(module)
    tree = ast.parse((STAGES / f"{module}.py").read_text())
    for node in ast.walk(tree):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module] if isinstance(node, ast.ImportFrom) and node.module else []
        for name in names:
            if (STAGES / f"{name.split('.')[0]}.py").is_file():
                local_imports(name.split(".")[0], seen)
    return seen


def test_every_stage_depends_on_the_modules_it_runs():
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    missing = {}
    for name, stage in stages.items():
        body = stage.get("do", stage)
        script = next(w for w in body["cmd"].split() if w.startswith("stages/") and w.endswith(".py"))
        needed = {f"stages/{m}.py" for m in local_imports(Path(script).stem) - NO_OUTPUT_EFFECT}
        lacking = needed - set(body["deps"])
        if lacking:
            missing[name] = sorted(lacking)
    assert not missing, f"stages whose deps miss modules they run: {missing}"
