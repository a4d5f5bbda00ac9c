"""A tiny ECG folder with distinct reports and a tiny model overfit to it, for the index tests."""
from __future__ import annotations

from pathlib import Path

import torch

from dataset_fixtures import sine_signal, write_wfdb
from melp.data.preprocess import PreprocessConfig, preprocess_batch
from melp.losses import MelpLoss
from tiny_melp import tiny_model

N_RECORDS = 8
OVERFIT_STEPS = 20
OVERFIT_LR = 1e-3
RHYTHMS = ("sinus rhythm", "atrial fibrillation", "sinus bradycardia", "sinus tachycardia",
           "atrial flutter", "junctional rhythm", "ventricular paced rhythm", "sinus arrhythmia")
FINDINGS = ("normal ecg", "left axis deviation", "right bundle branch block", "left ventricular hypertrophy",
            "inferior st elevation", "low qrs voltage", "first degree av block", "prolonged qt")


def report_of(i: int) -> str:
    return f"{RHYTHMS[i % len(RHYTHMS)]}. {FINDINGS[i % len(FINDINGS)]}. abnormal ecg"


def write_ecg_folder(folder: Path, n_records: int = N_RECORDS, first: int = 0) -> list[Path]:
    """WFDB records r000, r001, ... with a distinct sine pattern and a report comment each."""
    return [
        write_wfdb(folder, f"r{i:03d}", sine_signal(i), comments=(f"Report: {report_of(i)}", "Age: 61", "Sex: M"))
        for i in range(first, first + n_records)
    ]


def overfit_tiny_model(records, reports: list[str], seed: int = 0):
    """A tiny MelpModel trained a few dozen steps on these pairs, so each ECG finds its own report."""
    model = tiny_model(seed).train()
    signals, masks, _ = preprocess_batch(records, PreprocessConfig(**model.config.preprocess))
    signals, masks = torch.from_numpy(signals), torch.from_numpy(masks)  # (B, 12, T), (B, 12)
    tokens = model.tokenize(reports)
    loss_fn = MelpLoss(model.config)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(trainable, lr=OVERFIT_LR)
    for _ in range(OVERFIT_STEPS):
        losses = loss_fn(model(signals, masks, tokens["input_ids"], tokens["attention_mask"]))
        optimiser.zero_grad()
        losses["loss_rhythm"].backward()  # retrieval needs only the rhythm-level alignment
        optimiser.step()
    return model.eval()
