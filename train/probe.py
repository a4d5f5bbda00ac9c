"""Downstream classification: a linear probe on frozen features, or full fine-tuning.

    python -m train.probe --dataset ptbxl-super --root PATH --fraction 0.01 [--model PATH] [--out r.json]
    python -m train.probe --dataset ptbxl-super --root PATH --fraction 0.01 --finetune [--field=value ...]

Probe (paper §3.4): ``model.features`` (averaged pre-projection beat embeddings) of every record, a
linear layer trained with BCE on a ``fraction`` of the training split (fixed sampling seed), early
stopping on validation macro AUROC, test macro AUROC reported. ``--finetune`` trains the ECG tower and
a linear head through the shared loop (``train/configs/finetune.yaml`` + overrides).
"""
from __future__ import annotations

import argparse
import json
import logging
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

import melp
from melp.datasets.registry import open_dataset
from melp.logs import configure_logging
from melp.metrics import macro_auroc
from train.data import sample_fraction
from train.eval_common import encode_split, format_table
from train.finetune import run_finetune

log = logging.getLogger(__name__)

PROBE_EPOCHS = 300          # full-batch epochs at most; early stopping usually ends far sooner
PROBE_PATIENCE = 20         # epochs without a better validation AUROC
PROBE_LR = 1e-2            # full-batch AdamW on standardised features
PROBE_WEIGHT_DECAY = 1e-4
FINETUNE_CONFIG = Path(__file__).resolve().parent / "configs" / "finetune.yaml"


def _standardise(features: dict[str, np.ndarray], train_key: str) -> dict[str, torch.Tensor]:
    """Zero mean, unit variance with the training statistics; (N, D) float32 tensors."""
    mean = features[train_key].mean(axis=0)
    std = features[train_key].std(axis=0) + np.finfo(np.float32).eps
    return {split: torch.from_numpy(((x - mean) / std).astype(np.float32)) for split, x in features.items()}


def train_linear_probe(train_x: torch.Tensor, train_y: torch.Tensor, val_x: torch.Tensor,
                       val_y: np.ndarray, seed: int) -> tuple[nn.Linear, float]:
    """Full-batch AdamW on BCE; returns the layer with the best validation macro AUROC and that AUROC."""
    torch.manual_seed(seed)
    layer = nn.Linear(train_x.shape[1], train_y.shape[1])
    optimizer = torch.optim.AdamW(layer.parameters(), lr=PROBE_LR, weight_decay=PROBE_WEIGHT_DECAY)
    best_auroc, best_state, waited = -math.inf, None, 0
    for _ in range(PROBE_EPOCHS):
        optimizer.zero_grad(set_to_none=True)
        nn.functional.binary_cross_entropy_with_logits(layer(train_x), train_y).backward()
        optimizer.step()
        with torch.no_grad():
            auroc = macro_auroc(val_y, layer(val_x).numpy()).macro
        if auroc > best_auroc:
            best_auroc, best_state, waited = auroc, {k: v.clone() for k, v in layer.state_dict().items()}, 0
        else:
            waited += 1
            if waited >= PROBE_PATIENCE:
                break
    if best_state is not None:
        layer.load_state_dict(best_state)
    return layer, best_auroc


def probe_from_features(features: dict[str, np.ndarray], labels: dict[str, np.ndarray],
                        label_names: tuple[str, ...], fraction: float, seed: int = 0) -> dict[str, Any]:
    """Linear probe on precomputed (N, D) features of the train/val/test splits; test macro AUROC."""
    chosen = sample_fraction(len(features["train"]), fraction, seed)
    scaled = _standardise({"train": features["train"][chosen], "val": features["val"],
                           "test": features["test"]}, "train")
    train_y = torch.from_numpy(labels["train"][chosen].astype(np.float32))  # (n, K)
    layer, val_auroc = train_linear_probe(scaled["train"], train_y, scaled["val"], labels["val"], seed)
    with torch.no_grad():
        test_scores = layer(scaled["test"]).numpy()  # (N_test, K)
    report = macro_auroc(labels["test"], test_scores, label_names)
    return {"fraction": fraction, "seed": seed, "n_train": int(len(chosen)), "val_macro_auroc": val_auroc,
            **report.to_dict()}


def parse_args(argv: list[str] | None) -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(prog="python -m train.probe", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", required=True, help="ptbxl-super | ptbxl-sub | ... | cpsc2018 | csn")
    parser.add_argument("--root", required=True, help="dataset folder")
    parser.add_argument("--fraction", type=float, default=1.0, help="share of training labels (0.01, 0.1, 1.0)")
    parser.add_argument("--model", default=None, help="checkpoint folder (default: the embedded checkpoint)")
    parser.add_argument("--seed", type=int, default=0, help="label sampling and probe seed")
    parser.add_argument("--finetune", action="store_true", help="train everything through train/loop.py")
    parser.add_argument("--config", default=str(FINETUNE_CONFIG), help="--finetune: TrainConfig YAML")
    parser.add_argument("--out", default=None, help="JSON file for the results")
    return parser.parse_known_args(argv)


def run_probe(args: argparse.Namespace) -> dict[str, Any]:
    """Frozen features through the public API (``train.eval_common.encode_split``), then the probe."""
    model = melp.load(args.model)
    preprocess_config = melp.PreprocessConfig(**model.config.preprocess)
    splits = {split: open_dataset(args.dataset, args.root, split, preprocess_config) for split in ("train", "val", "test")}
    features = {split: encode_split(model, data, np.arange(len(data)), "features") for split, data in splits.items()}
    labels = {split: data.label_matrix() for split, data in splits.items()}
    results = probe_from_features(features, labels, tuple(splits["test"].label_names), args.fraction, args.seed)
    return {**results, "model": model.provenance.to_dict()}  # which weights made these features


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args, overrides = parse_args(argv)
    configure_logging(timestamps=True)
    if args.finetune:
        results = run_finetune(args, overrides)
    elif overrides:
        raise SystemExit(f"unknown arguments {overrides}; --field=value overrides only apply with --finetune")
    else:
        results = run_probe(args)
    if not results:  # a torchrun rank other than 0 of a fine-tuning run
        return results
    results = {"task": "finetune" if args.finetune else "probe", "dataset": args.dataset, "split": "test",
               "model": args.model or "embedded", **results}
    sys.stdout.write(format_table(results["task"], results) + "\n")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
