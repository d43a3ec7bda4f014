"""An older Python is refused by make before it installs anything, with one line saying which
Python is needed and how to pick it (pyproject.toml requires-python >= 3.11)."""

import shutil
import stat
import subprocess
import sys

import pytest
from pipeline import ROOT

pytestmark = pytest.mark.pipeline  # runs stages, DVC or make as processes


def fake_python(path, version: str):
    """A python that reports `version` to the Makefile's check (and runs it with the real one)."""
    path.write_text(
        "#!/bin/sh\n"
        f"exec \"{sys.executable}\" -c \"import sys; sys.version_info = tuple(map(int, '{version}'.split('.'))); "
        f'sys.version = \'{version} (fake)\'; exec(sys.argv[-1])" "$@"\n'
    )
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_make_refuses_python_310_before_installing(tmp_path):
    for name in ("Makefile", "pyproject.toml", "uv.lock"):
        shutil.copy(ROOT / name, tmp_path / name)
    python = fake_python(tmp_path / "python3.10", "3.10.14")
    result = subprocess.run(["make", "venv", f"PYTHON={python}"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "lecun1989 needs Python 3.11 or newer" in result.stderr and "3.10.14" in result.stderr, result.stderr
    assert "make PYTHON=python3.11" in result.stderr
    assert not (tmp_path / ".uv").exists() and not (tmp_path / ".venv").exists()


def test_requires_python_matches_the_makefile_check():
    assert 'requires-python = ">=3.11"' in (ROOT / "pyproject.toml").read_text()
    assert "sys.version_info >= (3, 11)" in (ROOT / "Makefile").read_text()
