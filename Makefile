# seqattn: `make demo` (the main job) and `make test` (the suite) each do their own set-up.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# Two torch processes at once (pytest + a notebook kernel) run ~50x slower without this.
export OMP_WAIT_POLICY := PASSIVE
export PYTHONDONTWRITEBYTECODE := 1

.DEFAULT_GOAL := help
.PHONY: help demo test lint lab app bench frontdoor peers saliency-peers weights clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints-cpu.txt
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -c constraints-cpu.txt -e '.[dev,notebooks,real]'
	@touch $(STAMP)

demo: $(STAMP)  ## show the product end to end (creates .venv on first run)
	$(PY) -m seqattn demo

test: $(STAMP)  ## lint, then the whole suite: unit, property, CLI, notebooks, doctests (creates .venv)
	$(PY) -m ruff check seqattn tests benchmarks
	$(PY) -m pytest -q

lint: $(STAMP)  ## ruff
	$(PY) -m ruff check seqattn tests benchmarks

lab: $(STAMP)  ## JupyterLab on notebooks/
	$(VENV)/bin/jupyter lab notebooks/

app: $(STAMP)  ## serve notebook 04's sliders as a web app (Voila) on http://127.0.0.1:8866
	$(PY) -m voila notebooks/04_visualize.ipynb --port=8866 --no-browser --Voila.ip=127.0.0.1

bench: $(STAMP)  ## run every benchmark; results in benchmarks/results/ (quoted in the README)
	$(PY) -m pip install -q --disable-pip-version-check -c constraints-cpu.txt -e '.[dev,notebooks,real,bench]'
	$(PY) benchmarks/bench_generate.py
	$(PY) benchmarks/bench_accuracy.py
	$(PY) benchmarks/bench_speed.py
	$(PY) benchmarks/bench_cli.py
	$(PY) benchmarks/bench_explain.py
	$(PY) benchmarks/bench_passes.py
	$(PY) benchmarks/bench_occlusion.py
	$(PY) benchmarks/bench_stream.py
	$(PY) benchmarks/bench_length.py

frontdoor:  ## seqattn train/evaluate, default flags, on UCR/UEA sets vs 1-NN ED/DTW and published results (own venv)
	@test -x .venv-frontdoor/bin/python || python3 -m venv .venv-frontdoor
	.venv-frontdoor/bin/python -m pip install -q --disable-pip-version-check -c constraints-cpu.txt -e '.[frontdoor]'
	.venv-frontdoor/bin/python benchmarks/bench_frontdoor.py

peers:  ## seqattn vs darts / statsmodels / aeon on real data (own venv .venv-peers; ~15 min)
	@test -x .venv-peers/bin/python || python3 -m venv .venv-peers
	.venv-peers/bin/python -m pip install -q --disable-pip-version-check -c constraints-cpu.txt -e '.[peers]'
	.venv-peers/bin/python benchmarks/peers/bench_peers.py

saliency-peers:  ## seqattn's maps vs Captum / tint on tint's and TimeX's saliency benchmarks (own venv .venv-saliency)
	@test -x .venv-saliency/bin/python || python3 -m venv .venv-saliency
	.venv-saliency/bin/pip install -q --disable-pip-version-check -c constraints-cpu.txt -e '.[saliency-peers]'
	.venv-saliency/bin/python benchmarks/peers/bench_saliency.py

weights: $(STAMP)  ## retrain the shipped weights/ and saved_models/ (about 9 minutes on 2 cores)
	$(PY) -m seqattn.pretrain all

clean:  ## remove the venv and caches
	rm -rf $(VENV) .venv-peers .venv-frontdoor .venv-saliency .pytest_cache .hypothesis reports
