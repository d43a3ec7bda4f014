import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "stages"))
sys.path.insert(0, str(ROOT / "tests"))

import shutil

import pytest

import pipeline


@pytest.fixture(scope="session")
def tiny_repo_done(tmp_path_factory):
    """A tiny pipeline repository after one full `dvc repro` (shared: copy it before changing it)."""
    repo = pipeline.make_tiny_repo(tmp_path_factory.mktemp("tiny") / "repo")
    pipeline.git_config(repo)
    pipeline.run(["dvc", "repro"], repo)
    return repo


@pytest.fixture
def tiny_repo(tiny_repo_done, tmp_path):
    """A private copy of the reproduced tiny repository (DVC cache included), free to change."""
    copy = tmp_path / "repo"
    shutil.copytree(tiny_repo_done, copy, symlinks=True)
    return copy
