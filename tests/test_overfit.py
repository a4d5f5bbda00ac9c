"""A tiny MELP overfits 8 synthetic ECG-report pairs: all three losses fall, zero-shot ranks own report first."""
from __future__ import annotations

import math

import pytest
import torch

from melp.losses import MelpLoss
from melp.models.melp import MelpModel
from tests.model_fixtures import tiny_config

STEPS, LEARNING_RATE, N_PAIRS = 40, 5e-3, 8
REPORTS = [
    "sinus rhythm. normal ecg.", "atrial fibrillation; rapid ventricular response.",
    "sinus bradycardia. left axis deviation.", "sinus tachycardia. nonspecific t wave changes.",
    "left bundle branch block.", "right bundle branch block. otherwise normal.",
    "anterior myocardial infarction, age undetermined.", "first degree av block; low qrs voltage.",
]


def synthetic_signals(samples: int, fs: float) -> torch.Tensor:
    """(8, 12, T): pair i has its own beat rate and lead pattern (spiky 'beats' on a per-lead gain)."""
    time = torch.arange(samples) / fs
    signals = []
    for index in range(N_PAIRS):
        rate_hz = 0.8 + 0.35 * index
        beats = torch.relu(torch.cos(2 * math.pi * rate_hz * time)) ** 8  # (T,)
        gains = torch.cos(torch.arange(12) * (index + 1) * 0.7).unsqueeze(1)  # (12, 1)
        signals.append(gains * beats)
    return torch.stack(signals)


@pytest.mark.slow
def test_tiny_model_overfits_eight_pairs():
    torch.manual_seed(0)
    model = MelpModel(tiny_config())
    loss_fn = MelpLoss(model.config)
    signals = synthetic_signals(model.config.input_samples, model.config.preprocess["fs"])
    tokens = model.tokenize(REPORTS)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=LEARNING_RATE)
    history = []
    for _ in range(STEPS):
        terms = loss_fn(model(signals, None, **tokens))
        optimizer.zero_grad()
        terms["loss"].backward()
        optimizer.step()
        history.append({k: v.item() for k, v in terms.items()})
    for term in ("loss_rhythm", "loss_token", "loss_beat"):
        assert history[-1][term] < 0.5 * history[0][term], (term, history[0][term], history[-1][term])
    model.eval()
    with torch.inference_mode():
        ecg_embeds = model.encode_ecg_tensors(signals)["rhythm"]  # (8, E)
        text_embeds = model.encode_text_tensors(**tokens)["text_embeds"]  # (8, E)
    scores = ecg_embeds @ text_embeds.T  # (8, 8) zero-shot cosine scores
    assert torch.equal(scores.argmax(dim=1), torch.arange(N_PAIRS))
