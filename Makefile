PYTHON ?= .venv/bin/python
PTBXL ?=

.PHONY: default-checkpoint

# Reproduce the embedded default checkpoint (checkpoints/melp-demo) from scratch; see scripts/train_default.sh.
# Needs PTB-XL, downloaded from PhysioNet: make default-checkpoint PTBXL=~/data/ptbxl
default-checkpoint:
	PYTHON=$(PYTHON) PTBXL=$(PTBXL) bash scripts/train_default.sh
