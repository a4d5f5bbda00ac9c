"""A tiny real MelpModel and spiky synthetic records, shared by the inference, checkpoint and CLI tests."""
from __future__ import annotations

import numpy as np
import torch

from melp.config import MelpConfig
from melp.models.melp import MelpModel
from melp.record import EcgRecord

RECORD_FS = 250.0
BEAT_PERIOD_S = 0.8  # 75 bpm
R_WIDTH_S = 0.012


def tiny_config(heartbeat_pooling: bool = False) -> MelpConfig:
    """The demo architecture shrunk to seconds on CPU (2 s at 100 Hz -> 12 encoder tokens)."""
    return MelpConfig(
        ecg={"width": 32, "layers": 1, "heads": 2, "ffn_dim": 64, "pos_conv_kernel": 8, "pos_conv_groups": 4,
             "conv_channels": (16, 16), "conv_kernels": (4, 4), "conv_strides": (4, 4)},
        pooler={"embed_dim": 32, "n_beat_queries": 4, "n_caption_queries": 4, "heads": 2,
                "heartbeat_pooling": heartbeat_pooling},
        text={"frozen_layers": 5, "causal": False, "max_length": 32},
        decoder={"width": 32, "layers": 1, "heads": 2, "max_length": 32, "tie_embeddings": True},
        preprocess={"fs": 100.0, "seconds": 2.0, "filter": "bandpass"},
    )


def tiny_model(seed: int = 0, heartbeat_pooling: bool = False) -> MelpModel:
    torch.manual_seed(seed)
    return MelpModel(tiny_config(heartbeat_pooling)).eval()


def spiky_record(seed: int, seconds: float = 4.0, record_id: str | None = None) -> EcgRecord:
    """12 leads of noise plus sharp R-like spikes every BEAT_PERIOD_S, in mV."""
    rng = np.random.default_rng(seed)
    times = np.arange(int(seconds * RECORD_FS)) / RECORD_FS  # (T,)
    beat_times = np.arange(0.3 + 0.05 * (seed % 3), seconds, BEAT_PERIOD_S)
    spikes = np.exp(-0.5 * ((times[None, :] - beat_times[:, None]) / R_WIDTH_S) ** 2).sum(axis=0)  # (T,)
    gains = rng.uniform(0.5, 1.5, size=(12, 1))
    signal = gains * spikes + 0.02 * rng.standard_normal((12, times.size))  # (12, T)
    return EcgRecord(signal=signal.astype(np.float32), fs=RECORD_FS, record_id=record_id or f"spiky-{seed}")
