#!/usr/bin/env bash
# Reproduce the embedded default checkpoint from scratch: synthesise the corpus, pretrain the demo
# preset, save checkpoints/melp-demo, and measure it on a held-out synthetic corpus (never trained on).
#
#   make default-checkpoint            (or: bash scripts/train_default.sh [all|data|train|measure])
#
# Stages (default all, in this order): data synthesises both corpora; train pretrains and saves the
# checkpoint; measure evaluates it and rebuilds the retrieval library. They can run on different machines
# (train where the GPU is, measure where the real records are) as long as the folders travel.
#
# Environment knobs (the defaults reproduce the committed checkpoint):
#   N_RECORDS=40000 N_HELDOUT=2000 WORKERS=2 PYTHON=.venv/bin/python
#   CONFIG (default: train/configs/demo-gpu.yaml when torch sees a GPU, else train/configs/demo.yaml)
#   CORPUS, HELDOUT, RUN_DIR, CHECKPOINT, LIBRARY (folders), PRETRAIN_ARGS (extra --field=value overrides)
#   N_LIBRARY=3000 (records in the default retrieval library)
#   REAL=../shared/data/real-samples/cinc2021 (labelled real records, evaluated only when the folder exists)
# Resumable: the corpus writer skips finished shards and train.pretrain resumes from
# runs/melp-demo/checkpoint.pt, so rerunning after an interruption continues where it stopped.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-.venv/bin/python}
N_RECORDS=${N_RECORDS:-40000}
N_HELDOUT=${N_HELDOUT:-2000}
WORKERS=${WORKERS:-2}
CORPUS=${CORPUS:-corpus/synth}                    # seed 0: training (+ its 5 % subject-level val split)
HELDOUT=${HELDOUT:-corpus/synth-heldout}          # seed 1: a separate corpus, only ever evaluated
RUN_DIR=${RUN_DIR:-runs/melp-demo}                # resumable checkpoint, metrics.csv, best/
CHECKPOINT=${CHECKPOINT:-checkpoints/melp-demo}
PRETRAIN_ARGS=${PRETRAIN_ARGS:-}
LIBRARY=${LIBRARY:-index/default}                 # the app's default retrieval library, committed
N_LIBRARY=${N_LIBRARY:-3000}
REAL=${REAL:-../shared/data/real-samples/cinc2021}
RESULTS=$CHECKPOINT/results
FS=500                              # MIMIC-IV-ECG's native rate; the store resamples once to the model's 100 Hz
STAGE=${1:-all}
case $STAGE in all|data|train|measure) ;; *) echo "unknown stage '$STAGE': use all, data, train or measure" >&2; exit 2;; esac

step() { echo "[$(date +%H:%M:%S)] $*"; }
wants() { [ "$STAGE" = all ] || [ "$STAGE" = "$1" ]; }

if wants data; then
step "synthesise $N_RECORDS training records -> $CORPUS"
$PYTHON -m melp.synth --n "$N_RECORDS" --out "$CORPUS" --seed 0 --fs "$FS" --workers "$WORKERS"
step "synthesise $N_HELDOUT held-out records -> $HELDOUT"
$PYTHON -m melp.synth --n "$N_HELDOUT" --out "$HELDOUT" --seed 1 --fs "$FS" --workers "$WORKERS"
fi

if wants train; then
if [ -z "${CONFIG:-}" ]; then   # only training depends on the hardware
    if $PYTHON -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
        CONFIG=train/configs/demo-gpu.yaml
    else
        CONFIG=train/configs/demo.yaml
    fi
fi
step "pretrain the demo preset ($CONFIG) -> $CHECKPOINT"
# shellcheck disable=SC2086  # PRETRAIN_ARGS is a list of --field=value words
$PYTHON -m train.pretrain --config "$CONFIG" --data_root="$CORPUS" --output_dir="$RUN_DIR" \
    --save_dir="$CHECKPOINT" $PRETRAIN_ARGS
fi

wants measure || exit 0
step "measure on the held-out corpus -> $RESULTS"
mkdir -p "$RESULTS"
$PYTHON -m train.evaluate zeroshot --dataset synth --root "$HELDOUT" --split all --model "$CHECKPOINT" \
    --out "$RESULTS/zeroshot-synth-heldout.json"
$PYTHON -m train.evaluate retrieval --dataset synth --root "$HELDOUT" --split all --model "$CHECKPOINT" \
    --bootstrap 0 --out "$RESULTS/retrieval-synth-heldout.json"
if [ -d "$REAL" ]; then
    step "zero-shot on the real records in $REAL (never trained on; each diagnosis prompted by its name)"
    $PYTHON -m train.evaluate zeroshot --dataset records --root "$REAL" --split all --model "$CHECKPOINT" \
        --out "$RESULTS/zeroshot-real-samples.json"
fi
cp "$RUN_DIR/metrics.csv" "$RESULTS/training-metrics.csv"
if [ -f "$RUN_DIR/validation-per-class.jsonl" ]; then
    cp "$RUN_DIR/validation-per-class.jsonl" "$RESULTS/validation-per-class.jsonl"
fi

step "build the default retrieval library for this checkpoint -> $LIBRARY"
$PYTHON -m index.default --model "$CHECKPOINT" --out "$LIBRARY" --records "$N_LIBRARY"
step "done: $CHECKPOINT (model card numbers in $RESULTS)"
