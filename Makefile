PYTHON ?= .venv/bin/python

.PHONY: default-checkpoint

# Reproduce the embedded default checkpoint (checkpoints/melp-demo) from scratch; see scripts/train_default.sh.
default-checkpoint:
	PYTHON=$(PYTHON) bash scripts/train_default.sh
