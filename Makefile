# Set-up needs only python3 (>= 3.11), git and make; every target below creates what it needs.
#   make repro   the whole pipeline (dvc repro)
#   make test    the test suite (what CI runs)
#   make test-fast  the in-process unit tests only (no pipeline runs, no stage processes)
#   make lint    ruff over the code
#   make verify  re-run the whole pipeline in a fresh clone of HEAD and check it against metrics/
#   make verify-quick          the same on a reduced pipeline, against verify/quick-expected/ (CI)
#   make verify-quick-update   regenerate verify/quick-expected/ after a deliberate change
#   make results the results table (metrics/results.md, README.md) and paired differences: dvc repro report
#   make figures the README's PNGs (docs/figures) from the metrics and plots of the last run
#   make digits-figure   the same and docs/figures/digits.png, USPS beside MNIST (needs the downloads of make repro)
#   make plots   dvc plots show: every plot of dvc.yaml in dvc_plots/index.html, a page that works offline
#   make plots-template   that page's template (.dvc/offline-plots.html) from the pinned vl-convert-python
#   make metrics-diff   `dvc metrics diff --md` of the workspace against BASE (default HEAD)
#   make bench   training and preprocessing speed against the seed's way (a few minutes)
#   make native  compile the native CPU training engine for this machine (make venv does it)
#   make exp-run EXP='<name> <key>=<value> ...'   one named experiment (dvc exp run -n <name> -S ...)
#   make exp-push EXP=<name>, make exp-pull, make exp-show   share experiments through a git remote
#                (GIT_REMOTE, default origin) and the default DVC remote; tools/sweep.py, docs/scaling.md
# The environment: .venv, made by uv (itself installed from PyPI into .uv/) from uv.lock, with
# this project installed in it editable. `source .venv/bin/activate` puts python and dvc on PATH.
PYTHON ?= python3
UV_VERSION := 0.13.9
VENV := .venv
UV := .uv/bin/uv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.synced-$(shell cat uv.lock pyproject.toml | cksum | cut -d' ' -f1)
RUN := PATH="$(BIN):$$PATH" DVC_NO_ANALYTICS=1
# uv uses the python3 that make was given, never one it downloads.
UV_ENV := UV_PYTHON="$(PYTHON)" UV_PYTHON_DOWNLOADS=never UV_PROJECT_ENVIRONMENT=$(VENV)
BASE ?= HEAD
VERIFY_ARGS ?=

.PHONY: repro test test-fast lint venv native check-bits bench results figures digits-figure plots plots-template verify verify-quick verify-quick-update metrics-diff \
	exp-run exp-push exp-pull exp-show sweep-matrix

venv: $(STAMP) native

# The native CPU engine (lecun1989/training/native/), compiled with $(CXX) or g++ for x86-64-v3. Without
# a compiler it says so in one line and training runs on the XLA engine; first use builds it too.
native: $(STAMP)
	$(RUN) python -m lecun1989.training.native.build

$(UV):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else f"lecun1989 needs Python 3.11 or newer (numpy 2.4 and jax 0.10 have no wheels for {sys.version.split()[0]}): run make PYTHON=python3.11 (or newer)")'
	$(PYTHON) -m pip install --quiet --disable-pip-version-check --target .uv uv==$(UV_VERSION)

# --frozen: install exactly uv.lock, never re-resolve. --inexact: keep packages a user added
# to the venv (torchvision, a CUDA build of jaxlib; see README). --compile-bytecode: every stage
# is a fresh Python process; where PYTHONDONTWRITEBYTECODE is set, each would otherwise compile
# jax, flax and dvc anew, seconds a process.
$(STAMP): uv.lock pyproject.toml | $(UV)
	$(UV_ENV) $(UV) sync --frozen --inexact --compile-bytecode --quiet
	rm -f $(VENV)/.synced-*
	touch $@

# Needs clang++, aarch64-linux-gnu-g++ and qemu-aarch64 (Debian: clang g++-aarch64-linux-gnu qemu-user).
check-bits: $(STAMP)
	LECUN1989_CHECK_BITS=1 $(RUN) python -m pytest tests/test_bits.py

# dvc_state: DVC rewrites dvc.lock and .dvc/tmp/rwlock in place; a damaged one is named with its fix first.
DVC_STATE := $(RUN) python -m lecun1989.pipeline.dvc_state

repro: $(STAMP)
	$(DVC_STATE)
	$(RUN) dvc repro

test: $(STAMP)
	$(RUN) python -m pytest

test-fast: $(STAMP)
	$(RUN) python -m pytest -m "not pipeline"

lint: $(STAMP)
	$(RUN) ruff check .
	$(RUN) ruff format --check .

results: $(STAMP)
	$(DVC_STATE)
	$(RUN) dvc repro report

verify: $(STAMP)
	$(DVC_STATE)
	$(RUN) python -m lecun1989.reporting.verify $(VERIFY_ARGS)

verify-quick: $(STAMP)
	$(DVC_STATE)
	$(RUN) python -m lecun1989.reporting.verify --quick $(VERIFY_ARGS)

verify-quick-update: $(STAMP)
	$(RUN) python -m lecun1989.reporting.verify --quick --update

figures: $(STAMP)
	$(RUN) python tools/readme_figures.py --metrics metrics --out docs/figures

digits-figure: $(STAMP)
	$(RUN) python tools/readme_figures.py --metrics metrics --out docs/figures --data data

plots: $(STAMP)
	$(DVC_STATE)
	$(RUN) dvc plots show

plots-template: $(STAMP)
	$(RUN) python tools/plots_template.py

metrics-diff: $(STAMP)
	$(DVC_STATE)
	$(RUN) dvc metrics diff --md $(BASE)

bench: $(STAMP)
	$(RUN) python tools/bench.py

# A sweep over machines (tools/sweep.py; .github/workflows/sweep.yml runs these): the variables reach
# the script through the environment, so values with quotes or spaces need no make quoting.
export EXP GIT_REMOTE SWEEP

exp-run: $(STAMP)
	$(RUN) python tools/sweep.py run

exp-push: $(STAMP)
	$(RUN) python tools/sweep.py push

exp-pull: $(STAMP)
	$(RUN) python tools/sweep.py pull

exp-show: $(STAMP)
	@$(RUN) python tools/sweep.py show

# Standard library only: the sweep's first job runs it before any environment is installed.
sweep-matrix:
	@$(PYTHON) tools/sweep.py matrix
