"""The optimiser (AdamW with decay / no-decay groups) and the learning-rate schedule."""
from __future__ import annotations

import math

import torch
from torch import nn

from train.config import TrainConfig


def get_lr(step: int, config: TrainConfig) -> float:
    """Learning rate for optimiser step ``step`` (0-based): linear warmup, then cosine to ``min_lr``.

    Pure: depends on ``step`` and the config alone, so a resumed run needs no scheduler object.
    """
    if config.warmup_steps > 0 and step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    if config.schedule == "constant":
        return config.lr
    decay_steps = max(config.max_steps - config.warmup_steps, 1)
    progress = min(max(step - config.warmup_steps, 0) / decay_steps, 1.0)
    cosine = 0.5 * (1.0 + math.cos(math.pi * progress))
    return config.min_lr + (config.lr - config.min_lr) * cosine


def param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Matrices decay; biases, norm gains, scalars (the temperature) and 1-D queries do not."""
    decay, no_decay = [], []
    for param in model.parameters():
        if not param.requires_grad:
            continue
        (decay if param.ndim >= 2 else no_decay).append(param)
    return [{"params": decay, "weight_decay": weight_decay},
            {"params": no_decay, "weight_decay": 0.0}]


def build_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.AdamW:
    """AdamW (paper §4.1: lr 2e-4, weight decay 0.2, betas 0.9/0.95) over :func:`param_groups`."""
    return torch.optim.AdamW(param_groups(model, config.weight_decay), lr=get_lr(0, config),
                             betas=(config.beta1, config.beta2), eps=config.eps)


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr
