# Two commands do all set-up on a fresh machine with python3, git and make:
#   make repro   the whole pipeline (dvc repro)
#   make test    the test suite
#   make verify  re-run the whole pipeline in a fresh clone of HEAD and check it against metrics/
#   make verify-quick          the same on a reduced pipeline, against verify/quick-expected/ (CI)
#   make verify-quick-update   regenerate verify/quick-expected/ after a deliberate change
#   make figures the README's PNGs (docs/figures) from the metrics and plots of the last run
#   make bench   training and preprocessing speed against the seed's way (a few minutes)
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum < requirements.txt | cut -d' ' -f1)
RUN := PATH="$(BIN):$$PATH" DVC_NO_ANALYTICS=1

.PHONY: repro test venv bench results figures verify verify-quick verify-quick-update

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

results: $(STAMP)
	$(RUN) python tools/results_table.py --write

verify: $(STAMP)
	$(RUN) python tools/verify.py

verify-quick: $(STAMP)
	$(RUN) python tools/verify.py --quick

verify-quick-update: $(STAMP)
	$(RUN) python tools/verify.py --quick --update

figures: $(STAMP)
	$(RUN) python tools/readme_figures.py --metrics metrics --out docs/figures

bench: $(STAMP)
	$(RUN) python tools/bench.py
