# Two commands do all set-up on a fresh machine with python3, git and make:
#   make repro   the whole pipeline (dvc repro)
#   make test    the test suite
#   make figures the README's PNGs (docs/figures) from the metrics and plots of the last run
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum < requirements.txt | cut -d' ' -f1)
RUN := PATH="$(BIN):$$PATH" DVC_NO_ANALYTICS=1

.PHONY: repro test venv figures

venv: $(STAMP)

$(STAMP): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -r requirements.txt
	rm -f $(VENV)/.installed-*
	touch $@

repro: $(STAMP)
	$(RUN) dvc repro

test: $(STAMP)
	$(RUN) python -m pytest -q tests

figures: $(STAMP)
	$(RUN) python tools/readme_figures.py --metrics metrics --out docs/figures
