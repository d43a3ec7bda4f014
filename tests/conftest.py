import os
import shutil
import tempfile

import pipeline
import pytest

from lecun1989 import runtime


def pytest_configure(config):
    """One JAX compilation cache for this pytest run, in-process and for every stage subprocess
    (through $LECUN1989_JAX_CACHE, which the stages read): the many Trainers and stages of the tests
    compile identical programs, and on a 2-core machine each compile costs seconds. It starts empty,
    so a run never reads what another run (or the user's own cache) compiled."""
    config._lecun1989_jax_cache = tempfile.mkdtemp(prefix="lecun1989-test-jax-cache-")
    import jax

    jax.config.update("jax_compilation_cache_dir", config._lecun1989_jax_cache)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)
    config._lecun1989_saved_env = os.environ.get(runtime.JAX_CACHE_ENV)
    os.environ[runtime.JAX_CACHE_ENV] = config._lecun1989_jax_cache
    runtime.configure()  # as every stage does: XLA's CPU flags, before JAX starts its backend


def pytest_unconfigure(config):
    shutil.rmtree(getattr(config, "_lecun1989_jax_cache", ""), ignore_errors=True)
    saved = getattr(config, "_lecun1989_saved_env", None)
    if saved is None:
        os.environ.pop(runtime.JAX_CACHE_ENV, None)
    else:
        os.environ[runtime.JAX_CACHE_ENV] = saved


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


@pytest.fixture(autouse=True)
def _fresh_inputs():
    """Each test starts with no recorded stage inputs (lecun1989/pipeline/inputs.py is per process)."""
    from lecun1989.pipeline import inputs

    inputs.forget()
    yield
    inputs.forget()


PIPELINE_FIXTURES = {"tiny_repo", "tiny_repo_done"}


def pytest_collection_modifyitems(config, items):
    """Tiers: a test that runs the pipeline (a tiny repository's stages, DVC, a stage as a process)
    is marked `pipeline`; `make test-fast` runs the others (in-process unit tests), `make test` all."""
    for item in items:
        if PIPELINE_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.pipeline)
