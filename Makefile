# `make train` and `make test` set up .venv on first use, then run.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# torch and torchvision are pinned to builds known to import together; pip takes them from a
# local wheel cache where one exists.
TORCH  ?= torch==2.14.1 torchvision==0.29.1

.PHONY: install train test test-fast lint benchmark docs clean

$(BIN)/mmagan-train: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH)
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

install: $(BIN)/mmagan-train

## Train on the embedded default (MMA-GAN on the 8-Gaussian ring, CPU, a few minutes). ARGS="..." adds overrides.
train: install
	$(BIN)/mmagan-train $(ARGS)

## The whole suite, slow tests included (what CI runs).
test: install
	$(BIN)/python -m pytest -m "slow or not slow" $(ARGS)

## The fast tests only.
test-fast: install
	$(BIN)/python -m pytest $(ARGS)

lint: install
	$(BIN)/ruff check src tests benchmarks

## The manual (docs/, MkDocs) into site/; --strict: a broken link or anchor is an error.
docs: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

benchmark: install
	$(BIN)/python benchmarks/step_throughput.py $(ARGS)

clean:
	rm -rf $(VENV) outputs build dist site
