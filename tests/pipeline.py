"""A tiny copy of the pipeline for end-to-end tests: the repository's own files in a temporary git
repository, with a params.yaml small enough to train in seconds."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
GENERATED = ("data/", "models/", "metrics/", "dvc.lock")  # outputs of a run, never copied
TINY_DATASET = {"n_train": 300, "n_val": 100, "n_test": 200, "draws": [42, 43]}
TINY_VARIANT = {"epochs": 2, "n_seeds": 2}
TINY_VARIANTS = ("lecun1989", "change4_relu_dropout")  # SGD/MSE/tanh, and AdamW/shift/ReLU/dropout


def env() -> dict:
    """The environment of a pipeline run: this interpreter's venv first on PATH, no analytics."""
    return {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", "DVC_NO_ANALYTICS": "1"}


def run(cmd: list[str], cwd: Path, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, cwd=cwd, env=env(), capture_output=True, text=True, **kwargs)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}")
    return result


def tiny_params(variants=TINY_VARIANTS) -> dict:
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    chosen = {name: {**params["variants"][name], **TINY_VARIANT} for name in variants}
    for v in chosen.values():
        v["dataset"] = "zip1989"
        if v.get("baseline") not in chosen:
            v.pop("baseline", None)  # compared with the row before instead
    params["datasets"] = {"zip1989": {**params["datasets"]["zip1989"], **TINY_DATASET}}
    params["variants"] = chosen
    return params


class _NoAliases(yaml.SafeDumper):
    """Writes a value used twice out twice: params.yaml allows no anchors or aliases."""

    def ignore_aliases(self, data):
        return True


def dump_params(params: dict) -> str:
    return yaml.dump(params, Dumper=_NoAliases, sort_keys=False)


def write_params(repo: Path, params: dict) -> None:
    (repo / "params.yaml").write_text(dump_params(params))


def make_tiny_repo(dest: Path, params: dict | None = None) -> Path:
    """The tracked and untracked-not-ignored files of this checkout, committed in a new repo at dest."""
    listed = (
        subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT, capture_output=True, check=True)
        .stdout.decode()
        .split("\0")
    )
    for rel in filter(None, listed):
        src = ROOT / rel
        if rel.startswith(GENERATED) or not src.is_file() or rel.startswith(".dvc/cache"):
            continue
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dest / rel)
    write_params(dest, params if params is not None else tiny_params())
    for cmd in (["git", "init", "-q"], ["git", "add", "-A"], ["git", "commit", "-q", "-m", "tiny pipeline"]):
        run(cmd, dest)
    return dest


def git_config(repo: Path) -> None:
    for key, value in (("user.name", "test"), ("user.email", "test@example.invalid")):
        run(["git", "config", key, value], repo)


def tree_bytes(folder: Path) -> dict[str, bytes]:
    """{relative path: contents} of every file below folder: equal dicts mean identical folders."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(Path(folder).rglob("*")) if p.is_file()}
