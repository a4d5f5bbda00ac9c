"""``python -m train.probe --finetune``: the ECG tower plus a linear head, trained through the shared loop.

The text tower and the caption decoder play no part in classification and stay frozen.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn
from torch.utils.data import Dataset, Subset

import melp
from melp.metrics import macro_auroc
from melp.models.melp import MelpModel
from train.builders import dataset_labels, open_split, unwrap
from train.config import load_config
from train.data import TrainingView, make_eval_loader, sample_fraction
from train.distributed import cleanup_distributed, setup_distributed
from train.loop import BEST_DIR, build_trainer, fit, seed_everything

HEAD_FILE = "classifier_head.safetensors"
EVAL_BATCH_SIZE = 64


class EcgClassifier(nn.Module):
    """(B, 12, T) signals -> (B, K) logits: linear head on the probe features (averaged beats)."""

    def __init__(self, backbone: MelpModel, n_classes: int) -> None:
        super().__init__()
        self.backbone = backbone
        self.config = backbone.config
        self.head = nn.Linear(backbone.config.embed_dim, n_classes)
        for tower in (backbone.text_encoder, backbone.decoder):
            tower.requires_grad_(False)
        backbone.logit_scale.requires_grad_(False)

    def forward(self, signals: torch.Tensor, lead_mask: torch.Tensor) -> torch.Tensor:
        features = self.backbone.encode_ecg_tensors(signals, lead_mask)["probe_features"]  # (B, E)
        return self.head(features)  # (B, K)

    def save_pretrained(self, directory: str | Path) -> None:
        self.backbone.save_pretrained(directory)
        save_file(self.head.state_dict(), str(Path(directory) / HEAD_FILE))

    @classmethod
    def from_pretrained(cls, directory: str | Path) -> "EcgClassifier":
        head = load_file(str(Path(directory) / HEAD_FILE))
        classifier = cls(MelpModel.from_pretrained(directory), n_classes=head["weight"].shape[0])
        classifier.head.load_state_dict(head)
        return classifier


def bce_step(model: nn.Module, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
    logits = model(batch["signals"], batch["lead_mask"])  # (B, K)
    return {"loss": nn.functional.binary_cross_entropy_with_logits(logits.float(), batch["labels"])}


def classifier_scores(model: nn.Module, dataset: Dataset) -> np.ndarray:
    """(N, K) sigmoid scores of every record, in order."""
    model = unwrap(model)
    device = next(model.parameters()).device
    scores = []
    with torch.no_grad():
        for batch in make_eval_loader(dataset, EVAL_BATCH_SIZE):
            logits = model(batch["signals"].to(device), batch["lead_mask"].to(device))
            scores.append(torch.sigmoid(logits.float()).cpu().numpy())
    return np.concatenate(scores)


def run_finetune(args: argparse.Namespace, overrides: list[str]) -> dict[str, Any]:
    """Fine-tune on ``args.fraction`` of the training split; test macro AUROC of the best validated model."""
    config = load_config(args.config, [f"--dataset={args.dataset}", f"--data_root={args.root}", *overrides])
    env = setup_distributed()
    seed_everything(config.seed, rank=0)
    backbone = melp.load(args.model)
    splits = {split: open_split(config, split, backbone.config, env) for split in ("train", "val", "test")}
    names, _ = dataset_labels(splits["test"])
    chosen = sample_fraction(len(splits["train"]), args.fraction, args.seed)
    train_set = TrainingView(Subset(splits["train"], chosen.tolist()), config.lead_mask_prob, config.seed)
    classifier = EcgClassifier(backbone, len(names))
    seed_everything(config.seed, env.rank)
    _, val_labels = dataset_labels(splits["val"])

    def validate(model: nn.Module) -> dict[str, float]:
        return {"val_auroc": macro_auroc(val_labels, classifier_scores(model, splits["val"])).macro}

    trainer = build_trainer(classifier, bce_step, train_set, config, env, eval_fn=validate)
    fit(trainer)
    results: dict[str, Any] = {}
    if env.is_main:
        best = Path(config.output_dir) / BEST_DIR
        final = EcgClassifier.from_pretrained(best).to(env.device) if best.is_dir() else classifier
        _, test_labels = dataset_labels(splits["test"])
        report = macro_auroc(test_labels, classifier_scores(final, splits["test"]), names)
        results = {"fraction": args.fraction, "seed": args.seed, "n_train": int(len(chosen)), **report.to_dict()}
    cleanup_distributed()
    return results
