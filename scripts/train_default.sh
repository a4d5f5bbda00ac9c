#!/usr/bin/env bash
# Reproduce the embedded default checkpoint from scratch: synthesise the corpus, pretrain on it (stage 1),
# continue on real PTB-XL ECGs mixed with the synthetic corpus (stage 2, selected on PTB-XL fold 9),
# save checkpoints/melp-demo, and measure it (held-out synthetic corpus, PTB-XL fold 10, heartbeat
# grounding, real records from other data sets), then rebuild the default retrieval library.
#
#   make default-checkpoint PTBXL=/path/to/ptbxl     (or: PTBXL=... bash scripts/train_default.sh [stage])
#
# PTB-XL (records100/ + ptbxl_database.csv + scp_statements.csv, and label_splits/ when you have them) is
# downloaded by you from PhysioNet (https://physionet.org/content/ptb-xl/, CC BY 4.0); nothing here
# downloads it, and without it the script stops before training rather than train a different model.
#
# Stages (default all, in this order): data synthesises both corpora; synth pretrains stage 1 on them;
# real trains stage 2 and saves the checkpoint; measure evaluates it and rebuilds the library; train is
# synth + real. Stages can run on different machines (train where the GPU is, measure where the data is).
#
# Environment knobs (the defaults reproduce the committed checkpoint's recipe):
#   PTBXL (required for real and measure)  N_RECORDS=40000 N_HELDOUT=2000 WORKERS=2 PYTHON=.venv/bin/python
#   CONFIG       stage 1 (default: train/configs/demo-gpu.yaml when torch sees a GPU, else demo.yaml)
#   REAL_CONFIG  stage 2 (default: train/configs/demo-real-gpu.yaml with a GPU, else demo-real.yaml)
#   STAGE1       a stage-1 model folder to start stage 2 from (default: what the synth stage saves)
#   CORPUS, HELDOUT, RUN_DIR, REAL_RUN_DIR, CHECKPOINT, LIBRARY, PROMPTS_OUT (folders; PROMPTS_OUT=melp/prompts
#   receives the PTB-XL phrasings chosen on fold 9 for the measured model)
#   PRETRAIN_ARGS (extra --field=value overrides for both stages), REAL_ARGS (stage 2 only)
#   N_LIBRARY_REAL=2400 N_LIBRARY=600 (real and simulated records in the default retrieval library)
#   PROBE_SETS=super,sub,form,rhythm (PTB-XL label sets probed at 1/10/100 %), GROUNDING_N=100 (records per case)
#   REAL=../shared/data/real-samples/cinc2021 (labelled real records, evaluated when the folder exists;
#   their PTB-XL records, HR*, are left out: the model trained on PTB-XL)
# Resumable: the corpus writer skips finished shards and train.pretrain resumes from its run folder.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-.venv/bin/python}
N_RECORDS=${N_RECORDS:-40000}
N_HELDOUT=${N_HELDOUT:-2000}
WORKERS=${WORKERS:-2}
PTBXL=${PTBXL:-}
CORPUS=${CORPUS:-corpus/synth}                    # seed 0: training (+ its 5 % subject-level val split)
HELDOUT=${HELDOUT:-corpus/synth-heldout}          # seed 1: a separate corpus, only ever evaluated
PROMPTS_OUT=${PROMPTS_OUT:-melp/prompts}          # where the fold-9 choice of PTB-XL phrasings is written
RUN_DIR=${RUN_DIR:-runs/melp-synth}               # stage 1: resumable checkpoint, metrics.csv, best/
REAL_RUN_DIR=${REAL_RUN_DIR:-runs/melp-real}      # stage 2
STAGE1=${STAGE1:-$RUN_DIR/final}
CHECKPOINT=${CHECKPOINT:-checkpoints/melp-demo}
PRETRAIN_ARGS=${PRETRAIN_ARGS:-}
REAL_ARGS=${REAL_ARGS:-}
LIBRARY=${LIBRARY:-index/default}                 # the app's default retrieval library, committed
N_LIBRARY_REAL=${N_LIBRARY_REAL:-2400}
N_LIBRARY=${N_LIBRARY:-600}
PROBE_SETS=${PROBE_SETS-super,sub,form,rhythm}
GROUNDING_N=${GROUNDING_N:-100}
REAL=${REAL:-../shared/data/real-samples/cinc2021}
RESULTS=$CHECKPOINT/results
FS=500                              # MIMIC-IV-ECG's native rate; the store resamples once to the model's 100 Hz
STAGE=${1:-all}
case $STAGE in all|data|synth|real|train|measure) ;;
    *) echo "unknown stage '$STAGE': use all, data, synth, real, train or measure" >&2; exit 2;; esac

step() { echo "[$(date +%H:%M:%S)] $*"; }
wants() { [ "$STAGE" = all ] || [ "$STAGE" = "$1" ] || { [ "$STAGE" = train ] && { [ "$1" = synth ] || [ "$1" = real ]; }; }; }
has_gpu() { $PYTHON -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; }
need_ptbxl() {
    if [ -z "$PTBXL" ] || [ ! -f "$PTBXL/ptbxl_database.csv" ] || [ ! -d "$PTBXL/records100" ]; then
        echo "PTB-XL is needed for the '$1' stage: set PTBXL to the folder holding records100/, ptbxl_database.csv" \
             "and scp_statements.csv (download PTB-XL from https://physionet.org/content/ptb-xl/), e.g." \
             "make default-checkpoint PTBXL=~/data/ptbxl${PTBXL:+ (got PTBXL=$PTBXL)}" >&2
        exit 3
    fi
}

if wants real || wants measure; then need_ptbxl "$STAGE"; fi

if wants data; then
step "synthesise $N_RECORDS training records -> $CORPUS"
$PYTHON -m melp.synth --n "$N_RECORDS" --out "$CORPUS" --seed 0 --fs "$FS" --workers "$WORKERS"
step "synthesise $N_HELDOUT held-out records -> $HELDOUT"
$PYTHON -m melp.synth --n "$N_HELDOUT" --out "$HELDOUT" --seed 1 --fs "$FS" --workers "$WORKERS"
fi

if wants synth; then
if [ -z "${CONFIG:-}" ]; then   # only training depends on the hardware
    if has_gpu; then CONFIG=train/configs/demo-gpu.yaml; else CONFIG=train/configs/demo.yaml; fi
fi
step "stage 1: pretrain the demo preset on the synthetic corpus ($CONFIG) -> $STAGE1"
# shellcheck disable=SC2086  # PRETRAIN_ARGS is a list of --field=value words
$PYTHON -m train.pretrain --config "$CONFIG" --data_root="$CORPUS" --output_dir="$RUN_DIR" \
    --save_dir="$STAGE1" $PRETRAIN_ARGS
fi

if wants real; then
if [ -z "${REAL_CONFIG:-}" ]; then
    if has_gpu; then REAL_CONFIG=train/configs/demo-real-gpu.yaml; else REAL_CONFIG=train/configs/demo-real.yaml; fi
fi
if [ ! -f "$STAGE1/config.json" ]; then
    echo "stage 2 starts from a stage-1 model, and $STAGE1 holds none: run the synth stage first, or set" \
         "STAGE1 to a save_pretrained folder" >&2
    exit 4
fi
step "stage 2: PTB-XL folds 1-8 + the synthetic corpus from $STAGE1 ($REAL_CONFIG) -> $CHECKPOINT"
# shellcheck disable=SC2086
$PYTHON -m train.pretrain --config "$REAL_CONFIG" --init_from="$STAGE1" --data_root="$CORPUS" \
    --mix_root="$PTBXL" --val_root="$PTBXL" --output_dir="$REAL_RUN_DIR" --save_dir="$CHECKPOINT" \
    $PRETRAIN_ARGS $REAL_ARGS
fi

wants measure || exit 0
step "measure on the held-out corpus -> $RESULTS"
mkdir -p "$RESULTS"
$PYTHON -m train.evaluate zeroshot --dataset synth --root "$HELDOUT" --split all --model "$CHECKPOINT" \
    --out "$RESULTS/zeroshot-synth-heldout.json"
$PYTHON -m train.evaluate retrieval --dataset synth --root "$HELDOUT" --split all --model "$CHECKPOINT" \
    --bootstrap 0 --out "$RESULTS/retrieval-synth-heldout.json"
step "choose the shipped prompt phrasings on PTB-XL fold 9 (train.select_prompts; never fold 10)"
$PYTHON -m train.select_prompts --model "$CHECKPOINT" --ptbxl "$PTBXL" --out "$PROMPTS_OUT" \
    --report "$RESULTS/prompt-selection.json"
step "measure on PTB-XL fold 10 (zero-shot per label set, probes, retrieval, reports)"
$PYTHON -m train.evaluate ptbxl --root "$PTBXL" --model "$CHECKPOINT" --probe-sets "$PROBE_SETS" \
    --out "$RESULTS/ptbxl-fold10.json"
REAL_ROOT=()
if [ -d "$REAL" ]; then REAL_ROOT=(--root "$REAL"); fi
step "heartbeat grounding on simulated records never trained on${REAL_ROOT:+ and the real records in $REAL}"
$PYTHON -m train.evaluate grounding --model "$CHECKPOINT" --n "$GROUNDING_N" "${REAL_ROOT[@]}" \
    --out "$RESULTS/grounding.json"
if [ -d "$REAL" ]; then
    step "zero-shot on the non-PTB-XL real records in $REAL (never trained on; each diagnosis by its name)"
    $PYTHON -m train.evaluate zeroshot --dataset records --root "$REAL" --split all --model "$CHECKPOINT" \
        --exclude 'HR*' --out "$RESULTS/zeroshot-real-samples.json"
fi
cp "$REAL_RUN_DIR/metrics.csv" "$RESULTS/training-metrics.csv"
if [ -f "$REAL_RUN_DIR/validation-per-class.jsonl" ]; then
    cp "$REAL_RUN_DIR/validation-per-class.jsonl" "$RESULTS/validation-per-class.jsonl"
fi

step "build the default retrieval library for this checkpoint -> $LIBRARY"
$PYTHON -m index.default --model "$CHECKPOINT" --out "$LIBRARY" --records "$N_LIBRARY" \
    --ptbxl "$PTBXL" --real-records "$N_LIBRARY_REAL"
step "done: $CHECKPOINT (model card numbers in $RESULTS)"
