"""Evaluate a model on a dataset through the public API only (``melp.load`` and the model's numpy methods).

    python -m train.evaluate zeroshot  --dataset ptbxl-super --root PATH [--model PATH] [--split test] --out results.json
    python -m train.evaluate retrieval --dataset synth --root PATH --split val --out results.json
    python -m train.evaluate probe     --dataset cpsc2018 --root PATH --fraction 0.01 --out results.json
    python -m train.evaluate zeroshot  --dataset records --root ANY_FOLDER --split all   (labels from #Dx headers)
    python -m train.evaluate grounding [--root LABELLED_REAL_RECORDS] [--n 100] --out grounding.json
    python -m train.evaluate ptbxl     --root PTBXL --out ptbxl-fold10.json    (everything on fold 10, train.eval_ptbxl)

zeroshot: each class's text embedding is the normalised mean of its prompt phrasings' ``encode_text``
embeddings (``melp/prompts/<dataset>.json``); scores are cosine similarities with ``encode_ecg``; macro
AUROC over classes with both labels (the rest are listed), per-class AUROC, bootstrap 95 % CIs.
retrieval: recall@1/5/10 of ECG -> report and report -> ECG over the split; identical reports count as
one target. probe: linear probe on ``model.features`` through ``train.probe``. grounding: the pointing
game on simulated records never trained on (``train.eval_grounding``).
Prints a table and saves everything as JSON.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

import numpy as np
from melp.logs import configure_logging
import melp
from melp.datasets.registry import DATASET_NAMES, open_dataset
from melp.metrics import DEFAULT_RESAMPLES, macro_auroc, retrieval_recall
from train import probe
from train.eval_common import READ_CHUNK, as_the_app_reads, encode_split, format_table
from train.eval_grounding import run_grounding
from train.eval_ptbxl import run_ptbxl
from train.prompts import validation_prompts

logger = logging.getLogger(__name__)

GROUNDING_RECORDS = 100  # simulated records per grounding case
GROUNDING_SEED = 500_000  # first seed of the grounding records (simulate(), never a corpus's seed stream)

def _limit(dataset: Any, max_records: int | None) -> np.ndarray:
    """Indices evaluated: all, or an evenly spaced subset of ``max_records`` (deterministic)."""
    n_records = len(dataset)
    if max_records is None or max_records >= n_records:
        return np.arange(n_records)
    return np.linspace(0, n_records - 1, max_records).round().astype(int)


def run_zeroshot(model: Any, dataset: Any, args: argparse.Namespace) -> dict[str, Any]:
    indices = _limit(dataset, args.max_records)
    labels = dataset.label_matrix()[indices]  # (N, K)
    if labels.shape[1] == 0:
        raise ValueError(f"{args.dataset}: has no labels; zero-shot needs a labelled dataset (ptbxl-*, cpsc2018, csn, synth)")
    # a folder of labelled records scores each diagnosis by its own name; named datasets ship prompt sets
    prompts = getattr(dataset, "prompts", None) or validation_prompts(args.dataset, dataset.label_names)
    ecg_embeds = encode_split(model, dataset, indices, "encode_ecg")  # (N, D)
    scores = ecg_embeds @ model.class_embeddings([prompts[name] for name in dataset.label_names]).T  # (N, K)
    report = macro_auroc(labels, scores, dataset.label_names, n_resamples=args.bootstrap, seed=args.seed)
    results = {"n_records": len(indices), **report.to_dict()}
    if getattr(dataset, "prompts", None):  # names as typed: also as the app reads them, beside the names' own score
        read = {name: as_the_app_reads(prompts[name][0]) for name in dataset.label_names}
        signs = np.array([read[name].sign for name in dataset.label_names])
        app_scores = ecg_embeds @ model.class_embeddings([read[name].phrasings for name in dataset.label_names]).T * signs
        in_app = macro_auroc(labels, app_scores, dataset.label_names, n_resamples=args.bootstrap, seed=args.seed)
        results["as_the_app_reads"] = {"read_as": {name: read[name].read_as for name in dataset.label_names},
                                       **in_app.to_dict()}
    return results


def run_retrieval(model: Any, dataset: Any, args: argparse.Namespace) -> dict[str, Any]:
    indices = _limit(dataset, args.max_records)
    reports = [dataset.report(int(i)) for i in indices]
    if not any(reports):
        raise ValueError(f"{args.dataset}: has no reports; retrieval needs mimic, synth or ptbxl-*")
    ecg_embeds = encode_split(model, dataset, indices, "encode_ecg")  # (N, D)
    text_embeds = np.concatenate([model.encode_text(reports[s:s + READ_CHUNK])
                                  for s in range(0, len(reports), READ_CHUNK)])  # (N, D)
    similarity = ecg_embeds @ text_embeds.T  # (N, N) ECG queries x reports
    _, groups = np.unique(np.asarray(reports), return_inverse=True)  # identical reports share a group
    return {"n_records": len(indices), "n_distinct_reports": int(groups.max() + 1),
            "ecg_to_report": retrieval_recall(similarity, groups=groups),
            "report_to_ecg": retrieval_recall(similarity.T, groups=groups)}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m train.evaluate", description=__doc__.split("\n")[0])
    parser.add_argument("task", choices=("zeroshot", "probe", "retrieval", "grounding", "ptbxl"))
    parser.add_argument("--dataset", default=None, choices=DATASET_NAMES, help="required except for grounding")
    parser.add_argument("--root", default=None, help="dataset folder (grounding: labelled real records, optional)")
    parser.add_argument("--model", default=None, help="checkpoint folder (default: the embedded checkpoint)")
    parser.add_argument("--split", default="test")
    parser.add_argument("--out", default=None, help="JSON file for the results")
    parser.add_argument("--max-records", type=int, default=None, help="evaluate an evenly spaced subset")
    parser.add_argument("--bootstrap", type=int, default=DEFAULT_RESAMPLES, help="bootstrap resamples (0: no CI)")
    parser.add_argument("--fraction", type=float, default=1.0, help="probe: share of training labels used")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default=None)
    parser.add_argument("--exclude", action="append", default=[],
                        help="records: leave out files matching this pattern (e.g. 'HR*'); repeatable")
    parser.add_argument("--n", type=int, default=GROUNDING_RECORDS, help="grounding: simulated records per case")
    parser.add_argument("--probe-sets", default="super,sub,form,rhythm",
                        help="ptbxl: label sets to probe at 1/10/100 %% (comma-separated; empty = none)")
    args = parser.parse_args(argv)
    if args.task == "ptbxl" and args.root is None:
        parser.error("ptbxl needs --root (the PTB-XL folder)")
    if args.task not in ("grounding", "ptbxl") and (args.dataset is None or args.root is None):
        parser.error(f"{args.task} needs --dataset and --root")
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    configure_logging()
    model = melp.load(args.model, device=args.device)
    preprocess_config = melp.PreprocessConfig(**model.config.preprocess)
    if args.task == "ptbxl":
        sets = tuple(name for name in args.probe_sets.split(",") if name)
        results = run_ptbxl(model, args.root, sets, args.bootstrap, args.seed)
        args.dataset, args.split = "ptbxl", "test (fold 10)"
    elif args.task == "grounding":
        seed = args.seed or GROUNDING_SEED
        results = run_grounding(model, args.n, seed, args.root)
        args.dataset, args.split = "simulated", f"seeds {seed}-{seed + args.n - 1}"
    elif args.task == "probe":
        splits = {split: open_dataset(args.dataset, args.root, split, preprocess_config) for split in ("train", "val", "test")}
        results = probe.probe_datasets(model, splits, args.fraction, args.seed)
    else:
        dataset = open_dataset(args.dataset, args.root, args.split, preprocess_config, tuple(args.exclude))
        results = (run_zeroshot if args.task == "zeroshot" else run_retrieval)(model, dataset, args)
    results = {"task": args.task, "dataset": args.dataset, "split": args.split, "model": model.provenance.to_dict(),
               **({"excluded": args.exclude} if args.exclude else {}),
               **results}
    sys.stdout.write(format_table(args.task, results) + "\n")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(results, indent=2))
        logger.info("results saved to %s", args.out)
    return results


if __name__ == "__main__":
    main()
