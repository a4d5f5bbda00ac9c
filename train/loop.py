"""The one training loop every entry point uses: DDP, accumulation, clipping, checkpoints, early stop.

``build_trainer`` wires a model, its loss, a training set and an optional validation function;
``fit`` runs (or resumes) until ``max_steps`` or early stopping. Only rank 0 logs, writes the CSV
and saves checkpoints; every rank holds identical weights after each optimiser step.
"""
from __future__ import annotations

import contextlib
import logging
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import Dataset
from tqdm.auto import tqdm

from train import checkpointing
from train.config import TrainConfig
from train.data import collate_items, make_train_loader, micro_batches_per_epoch
from train.distributed import DistEnv, all_gather_objects, barrier, broadcast_flag
from train.metrics_log import ClassLog, MetricsLog
from train.optim import build_optimizer, get_lr, set_lr

log = logging.getLogger(__name__)

LOSS_TERMS = ("loss", "loss_rhythm", "loss_token", "loss_beat", "loss_grounding")
BEST_DIR = "best"
METRICS_FILE = "metrics.csv"
CLASS_LOG_FILE = "validation-per-class.jsonl"
# An eval_fn may also return this key: {class name: AUROC}, logged to CLASS_LOG_FILE, not to metrics.csv.
PER_CLASS_KEY = "val_per_class"
RESUME_FREE_KEYS = ("resume", "stop_at_step")  # may differ between a run and its resumption silently
LOADER_SEED_STREAM = 1_000_003  # loader generator seed = seed * this + epoch (keeps global RNG untouched)

# A step function maps (wrapped model, batch on device) to named scalar losses, "loss" included.
StepFn = Callable[[nn.Module, dict], dict[str, torch.Tensor]]
# A validation function maps the unwrapped model to metrics; "val_auroc" drives early stopping.
EvalFn = Callable[[nn.Module], dict[str, float]]


@dataclass
class TrainState:
    step: int = 0                 # optimiser steps taken
    epoch: int = 0
    batch_in_epoch: int = 0       # micro-batches of `epoch` this rank has consumed
    best_auroc: float = -math.inf
    evals_without_gain: int = 0
    stopped_early: bool = False


@dataclass
class Trainer:
    config: TrainConfig
    env: DistEnv
    model: nn.Module              # unwrapped; what is saved
    wrapped: nn.Module            # DDP(model) under torchrun, else model
    optimizer: torch.optim.Optimizer
    step_fn: StepFn
    train_set: Dataset
    eval_fn: EvalFn | None = None
    collate: Callable[[list], dict] = collate_items   # dataset items -> one batch dict
    metrics: MetricsLog | None = None
    class_log: ClassLog | None = None
    running: dict[str, float] = field(default_factory=dict)


def seed_everything(seed: int, rank: int) -> None:
    """Seed python, numpy and torch with ``seed + rank`` (different dropout per rank, same init)."""
    random.seed(seed + rank)
    np.random.seed(seed + rank)
    torch.manual_seed(seed + rank)


def autocast_for(config: TrainConfig, device: torch.device) -> contextlib.AbstractContextManager:
    """bf16 autocast on CUDA when asked for; CPU always runs fp32."""
    if device.type == "cuda" and config.precision == "bf16":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def build_trainer(model: nn.Module, step_fn: StepFn, train_set: Dataset, config: TrainConfig,
                  env: DistEnv, eval_fn: EvalFn | None = None,
                  collate: Callable[[list], dict] = collate_items) -> Trainer:
    """Move ``model`` to the device, wrap it in DDP under torchrun and build AdamW.

    Call :func:`seed_everything` before building ``model`` so every rank starts from the same init.
    """
    model.to(env.device)
    wrapped: nn.Module = model
    if env.is_distributed:
        device_ids = [env.local_rank] if env.device.type == "cuda" else None
        wrapped = DistributedDataParallel(model, device_ids=device_ids)
    metrics = MetricsLog(Path(config.output_dir) / METRICS_FILE) if env.is_main else None
    class_log = ClassLog(Path(config.output_dir) / CLASS_LOG_FILE) if env.is_main else None
    return Trainer(config=config, env=env, model=model, wrapped=wrapped,
                   optimizer=build_optimizer(model, config), step_fn=step_fn, train_set=train_set,
                   eval_fn=eval_fn, collate=collate, metrics=metrics, class_log=class_log)


def _to_device(batch: dict, device: torch.device) -> dict:
    return {k: v.to(device, non_blocking=True) if torch.is_tensor(v) else v for k, v in batch.items()}


def _accumulate(trainer: Trainer, batch: dict, sync: bool) -> None:
    """Forward and backward one micro-batch; gradients sync across ranks only when ``sync``."""
    config = trainer.config
    no_sync = (trainer.wrapped.no_sync() if trainer.env.is_distributed and not sync
               else contextlib.nullcontext())
    with no_sync:
        with autocast_for(config, trainer.env.device):
            losses = trainer.step_fn(trainer.wrapped, _to_device(batch, trainer.env.device))
        (losses["loss"] / config.grad_accum_steps).backward()
    for name in LOSS_TERMS:
        if name in losses:
            value = float(losses[name].detach()) / config.grad_accum_steps
            trainer.running[name] = trainer.running.get(name, 0.0) + value


def _optimizer_step(trainer: Trainer, state: TrainState) -> float:
    """Set the LR, clip, step; returns the pre-clip gradient norm."""
    config = trainer.config
    set_lr(trainer.optimizer, get_lr(state.step, config))
    max_norm = config.grad_clip if config.grad_clip > 0 else math.inf
    grad_norm = torch.nn.utils.clip_grad_norm_(trainer.model.parameters(), max_norm)
    trainer.optimizer.step()
    trainer.optimizer.zero_grad(set_to_none=True)
    state.step += 1
    return float(grad_norm)


def _end_step(config: TrainConfig) -> int:
    return min(config.stop_at_step, config.max_steps) if config.stop_at_step > 0 else config.max_steps


def train_one_epoch(trainer: Trainer, state: TrainState, progress: tqdm) -> bool:
    """Train from ``state``'s position to the end of its epoch; True when the run should end."""
    config, env = trainer.config, trainer.env
    trainer.wrapped.train()
    usable = micro_batches_per_epoch(trainer.train_set, config, env)
    if usable == 0:
        raise ValueError(f"training set of {len(trainer.train_set)} records is too small for batch_size "
                         f"{config.batch_size} x grad_accum_steps {config.grad_accum_steps} x "
                         f"{env.world_size} ranks; lower batch_size or use more records")
    loader = make_train_loader(trainer.train_set, config, env, state.epoch, state.batch_in_epoch,
                               generator=_loader_generator(config, state.epoch), collate=trainer.collate)
    window_start = time.perf_counter()
    for batch in loader:
        if state.batch_in_epoch >= usable:
            break
        state.batch_in_epoch += 1
        _accumulate(trainer, batch, sync=state.batch_in_epoch % config.grad_accum_steps == 0)
        if state.batch_in_epoch % config.grad_accum_steps:
            continue
        grad_norm = _optimizer_step(trainer, state)
        elapsed = time.perf_counter() - window_start
        samples = config.batch_size * config.grad_accum_steps * env.world_size
        _log_step(trainer, state, progress, grad_norm, samples / elapsed)
        if _after_step(trainer, state):
            return True
        window_start = time.perf_counter()
    state.epoch += 1
    state.batch_in_epoch = 0
    return False


def _loader_generator(config: TrainConfig, epoch: int) -> torch.Generator:
    generator = torch.Generator()
    generator.manual_seed(config.seed * LOADER_SEED_STREAM + epoch)
    return generator


def _log_step(trainer: Trainer, state: TrainState, progress: tqdm, grad_norm: float,
              samples_per_s: float) -> None:
    terms = {name: trainer.running.pop(name) for name in LOSS_TERMS if name in trainer.running}
    progress.update(1)
    progress.set_postfix({k.removeprefix("loss_") or k: f"{v:.3f}" for k, v in terms.items()})
    if trainer.metrics is not None and state.step % trainer.config.log_every == 0:
        trainer.metrics.append({"step": state.step, "epoch": state.epoch, "lr": get_lr(state.step - 1, trainer.config),
                                "grad_norm": grad_norm, "samples_per_s": samples_per_s, **terms})


def _after_step(trainer: Trainer, state: TrainState) -> bool:
    """Validation, early stopping and periodic checkpoints after an optimiser step; True = end."""
    config = trainer.config
    eval_due = config.eval_every > 0 and state.step % config.eval_every == 0
    if eval_due or state.step == config.max_steps:
        validate(trainer, state)  # on every rank: rank 0 may hold the only eval_fn, all join the broadcast
    if state.step % config.checkpoint_every == 0 or state.step == config.max_steps or state.stopped_early:
        save_training_checkpoint(trainer, state)
    return state.stopped_early or state.step >= _end_step(config)


def validate(trainer: Trainer, state: TrainState) -> dict[str, float]:
    """Rank 0 scores the model (when it has an eval_fn); a better ``val_auroc`` is saved to ``output_dir/best``.

    Every rank must call this together: rank 0's early-stopping decision is broadcast to all.
    """
    config, env = trainer.config, trainer.env
    results: dict[str, float] = {}
    stop = False
    if env.is_main and trainer.eval_fn is not None:
        trainer.model.eval()
        with torch.no_grad():
            results = dict(trainer.eval_fn(trainer.model))
        trainer.model.train()
        per_class = results.pop(PER_CLASS_KEY, None)
        if per_class and trainer.class_log is not None:
            trainer.class_log.append(state.step, per_class)
            weakest = sorted(per_class.items(), key=lambda item: item[1])[:5]
            log.info("step %d: weakest classes %s", state.step, ", ".join(f"{k} {v:.3f}" for k, v in weakest))
        auroc = results.get("val_auroc", math.nan)
        if auroc > state.best_auroc:
            state.best_auroc, state.evals_without_gain = auroc, 0
            trainer.model.save_pretrained(Path(config.output_dir) / BEST_DIR)
        else:
            state.evals_without_gain += 1
        stop = config.patience > 0 and state.evals_without_gain >= config.patience
        log.info("step %d: %s (best val_auroc %.4f)", state.step, results, state.best_auroc)
        if trainer.metrics is not None:
            trainer.metrics.append({"step": state.step, "epoch": state.epoch, **results})
    state.stopped_early = broadcast_flag(env, stop)
    return results


def save_training_checkpoint(trainer: Trainer, state: TrainState) -> None:
    """Every rank contributes its RNG state; rank 0 writes one file atomically."""
    rng_by_rank = all_gather_objects(trainer.env, checkpointing.capture_rng_state())
    if trainer.env.is_main:
        checkpointing.save_checkpoint(checkpointing.checkpoint_path(trainer.config.output_dir), {
            "model": trainer.model.state_dict(), "optimizer": trainer.optimizer.state_dict(),
            "scheduler": {"step": state.step, "lr": get_lr(max(state.step - 1, 0), trainer.config)},
            "state": vars(state).copy(), "rng": rng_by_rank, "world_size": trainer.env.world_size,
            "config": trainer.config.to_dict(), "model_config": trainer.model.config.to_json_string(),
        }, step=state.step)
    barrier(trainer.env)


def _forget_logs_after(trainer: Trainer, step: int) -> None:
    """Drop log rows past ``step``: written by a run that died after its last checkpoint, or an older run."""
    for log_file in (trainer.metrics, trainer.class_log):
        if log_file is not None:
            log_file.drop_after(step)


def resume(trainer: Trainer) -> TrainState:
    """The saved state when ``config.resume`` and a checkpoint exist; a fresh state otherwise."""
    config, env = trainer.config, trainer.env
    path = checkpointing.checkpoint_path(config.output_dir)
    if not (config.resume and path.is_file()):
        _forget_logs_after(trainer, 0)  # a fresh run in an old output_dir starts clean logs
        return TrainState()
    saved = checkpointing.load_checkpoint(path, map_location="cpu")  # RNG states must stay on the CPU
    if saved["world_size"] != env.world_size:
        raise ValueError(f"{path}: written by {saved['world_size']} processes, this run has "
                         f"{env.world_size}; exact resume needs the same count. Rerun with "
                         f"{saved['world_size']} processes, or start fresh with --resume=false "
                         f"--init_from={Path(config.output_dir) / BEST_DIR}")
    changed = sorted(key for key, value in config.to_dict().items()
                     if key not in RESUME_FREE_KEYS and saved["config"].get(key) != value)
    if changed:
        log.warning("%s: resuming with changed settings %s (saved: %s)", path, changed,
                    {key: saved["config"].get(key) for key in changed})
    trainer.model.load_state_dict(saved["model"])
    trainer.optimizer.load_state_dict(saved["optimizer"])
    checkpointing.restore_rng_state(saved["rng"][env.rank])
    state = TrainState(**saved["state"])
    _forget_logs_after(trainer, state.step)
    log.info("resumed from %s at step %d (epoch %d, batch %d)", path, state.step, state.epoch,
             state.batch_in_epoch)
    return state


def fit(trainer: Trainer) -> TrainState:
    """Train (or resume) to ``max_steps``, ``stop_at_step`` or early stopping."""
    state = resume(trainer)
    end = _end_step(trainer.config)
    with tqdm(total=end, initial=state.step, disable=not trainer.env.is_main, desc="train") as progress:
        while state.step < end and not state.stopped_early:
            if train_one_epoch(trainer, state, progress):
                break
    return state
