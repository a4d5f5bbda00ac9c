"""Shared by the training tests and the torchrun worker: a tiny real model on tiny in-memory pairs."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from torch.utils.data import Dataset

from train.builders import PretrainStep, ZeroShotValidator, build_model, build_model_config
from train.config import TrainConfig, load_config
from train.data import TrainingView
from train.distributed import DistEnv
from train.loop import Trainer, TrainState, build_trainer, fit, seed_everything

TINY_CONFIG = Path(__file__).resolve().parents[1] / "train" / "configs" / "tiny.yaml"
REPORTS = ("sinus rhythm. normal ecg.", "atrial fibrillation. abnormal ecg.",
           "sinus bradycardia. first degree av block.", "sinus tachycardia. left axis deviation.")


class TinyPairs(Dataset):
    """``n`` random (12, T) signals with one of four reports each; labels one-hot over the reports."""

    label_names = ("normal", "af", "block", "tachy")

    def __init__(self, n: int, samples: int, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.signals = rng.standard_normal((n, 12, samples)).astype(np.float32)  # (N, 12, T)
        self.kinds = rng.integers(0, len(REPORTS), n)  # (N,)

    def __len__(self) -> int:
        return len(self.kinds)

    def __getitem__(self, index: int) -> dict:
        kind = int(self.kinds[index])
        return {"signal": self.signals[index], "lead_mask": np.ones(12, bool), "report": REPORTS[kind],
                "labels": np.eye(len(REPORTS), dtype=np.float32)[kind], "record_id": f"tiny-{index}"}

    def label_matrix(self) -> np.ndarray:
        return np.eye(len(REPORTS), dtype=np.float32)[self.kinds]  # (N, K)


def tiny_config(output_dir: Path, *overrides: str) -> TrainConfig:
    return load_config(TINY_CONFIG, [f"--output_dir={output_dir}", *overrides])


PROMPTS = {"normal": ["normal ecg"], "af": ["atrial fibrillation"], "block": ["first degree av block"],
           "tachy": ["sinus tachycardia"]}


def tiny_trainer(config: TrainConfig, env: DistEnv, n_records: int = 24, validate_on_main: bool = False) -> Trainer:
    """The real model from tiny.yaml, seeded identically on every rank, on :class:`TinyPairs`.

    ``validate_on_main`` gives rank 0 (only) a zero-shot validator, as ``train.pretrain`` does.
    """
    model_config = build_model_config(config)
    seed_everything(config.seed, rank=0)
    model = build_model(config)
    seed_everything(config.seed, env.rank)
    pairs = TrainingView(TinyPairs(n_records, model_config.input_samples), config.lead_mask_prob, config.seed)
    validator = None
    if validate_on_main and env.is_main:
        validator = ZeroShotValidator(TinyPairs(8, model_config.input_samples, seed=1), PROMPTS, batch_size=4)
    return build_trainer(model, PretrainStep(model_config), pairs, config, env, eval_fn=validator)


def run_tiny(config: TrainConfig, env: DistEnv) -> tuple[Trainer, TrainState]:
    trainer = tiny_trainer(config, env)
    return trainer, fit(trainer)
