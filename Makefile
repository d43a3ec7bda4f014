# Two commands do all set-up on a fresh machine with python3, git and make:
#   make repro   the whole pipeline (dvc repro)
#   make test    the test suite
#   make bench   training and preprocessing speed against the seed's way (a few minutes)
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum < requirements.txt | cut -d' ' -f1)
RUN := PATH="$(BIN):$$PATH" DVC_NO_ANALYTICS=1

.PHONY: repro test bench venv

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

bench: $(STAMP)
	$(RUN) python tools/bench.py
