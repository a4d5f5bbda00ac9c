"""What the entry points share: the model, its datasets, the training step and the zero-shot validator."""
from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import ConcatDataset, Dataset

from melp.config import MelpConfig, merge_fields
from melp.data.preprocess import PreprocessConfig
from melp.datasets.base import preprocess_config_dict
from melp.datasets.registry import open_dataset
from melp.datasets.store import convert_to_store
from melp.grounding import sentence_kind_codes
from melp.losses import MelpLoss
from melp.metrics import macro_auroc
from melp.models.melp import MelpModel
from train.config import TrainConfig
from train.data import TrainingView, make_eval_loader, take_prefix
from train.distributed import DistEnv, barrier
from train.loop import PER_CLASS_KEY

log = logging.getLogger(__name__)

SUB_CONFIGS = ("ecg", "pooler", "text", "decoder", "loss")
EVAL_BATCH_SIZE = 64


def build_model_config(config: TrainConfig) -> MelpConfig:
    """``MelpConfig.preset(config.model_preset)`` with ``config.model_overrides`` merged in."""
    preset = MelpConfig.preset(config.model_preset)
    fields = {name: preset.to_dict()[name] for name in SUB_CONFIGS}
    fields["preprocess"] = dict(preset.preprocess)
    return MelpConfig(**merge_fields(fields, config.model_overrides))


def build_model(config: TrainConfig) -> MelpModel:
    """A fresh model from the preset, or the ``init_from`` checkpoint folder (``model_overrides`` merged into
    its config may add modules, which start fresh: a warm start into a grown architecture)."""
    if config.init_from:
        log.info("starting from %s%s", config.init_from,
                 f" with overrides {config.model_overrides}" if config.model_overrides else "")
        return MelpModel.from_pretrained(config.init_from, overrides=config.model_overrides or None)
    return MelpModel(build_model_config(config))


def open_split(config: TrainConfig, split: str, model_config: MelpConfig, env: DistEnv,
               source: tuple[str, str] | None = None) -> Dataset:
    """One split of ``source`` (dataset name, root; default the config's), preprocessed as the model
    expects; through a memmap store when ``store_dir`` is set.

    Rank 0 converts a missing store once; the other ranks wait, then open it.
    """
    name, root = source or (config.dataset, config.data_root)
    preprocess_config = PreprocessConfig(**model_config.preprocess)
    if not config.store_dir:
        return open_dataset(name, root, split, preprocess_config)
    # One folder per preprocessing, so a model with another input rate or normalisation gets its own store.
    settings = json.dumps(preprocess_config_dict(preprocess_config), sort_keys=True).encode()
    store = Path(config.store_dir) / f"{name}-{split}-{hashlib.sha256(settings).hexdigest()[:8]}"
    if env.is_main:
        dataset = open_dataset(name, root, split, preprocess_config)
        convert_to_store(dataset, store, num_workers=config.num_workers)
    barrier(env)
    return open_dataset(name, store, split, preprocess_config)


def training_set(config: TrainConfig, model_config: MelpConfig, env: DistEnv) -> Dataset:
    """The (prefix of the) training split, plus ``mix_repeat`` copies of the mixed-in source, with
    random lead masking, sentence subsets and alternative texts."""
    dataset = take_prefix(open_split(config, config.train_split, model_config, env), config.max_train_records)
    if config.mix_dataset:
        mixed = take_prefix(open_split(config, config.train_split, model_config, env,
                                       (config.mix_dataset, config.mix_root)), config.max_train_records)
        log.info("training on %d %s + %d x %d %s records", len(dataset), config.dataset, config.mix_repeat,
                 len(mixed), config.mix_dataset)
        dataset = ConcatDataset([dataset] + [mixed] * config.mix_repeat)
    return TrainingView(dataset, config.lead_mask_prob, config.seed, config.sentence_subset_prob,
                        config.alt_text_prob, drop_labels=bool(config.mix_dataset))


def validation_source(config: TrainConfig) -> tuple[str, str]:
    """(dataset name, root) that zero-shot validation reads: ``val_dataset`` or the training dataset."""
    if not config.val_dataset:
        return config.dataset, config.data_root
    return config.val_dataset, config.val_root or config.data_root


def unwrap(model: nn.Module) -> nn.Module:
    """The module inside a DistributedDataParallel wrapper (or the model itself)."""
    return model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model


class PretrainStep:
    """(wrapped model, batch) -> MelpLoss terms: tokenise the reports, forward, weigh the losses.

    The text tower reads ``text_reports`` (sentence subsets where the training view drew them); the
    decoder is taught the whole ``reports``."""

    def __init__(self, model_config: MelpConfig) -> None:
        self.loss_fn = MelpLoss(model_config)

    def __call__(self, model: nn.Module, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        signals = batch["signals"]  # (B, C, T)
        reports, text_reports = batch["reports"], batch.get("text_reports", batch["reports"])
        inner = unwrap(model)
        tokens = inner.tokenize(text_reports)
        captions = tokens if text_reports == reports else inner.tokenize(reports)
        heartbeats = batch.get("heartbeats") if inner.pools_heartbeats else None
        outputs = model(signals, batch["lead_mask"], tokens["input_ids"].to(signals.device),
                        tokens["attention_mask"].to(signals.device),
                        caption_ids=captions["input_ids"].to(signals.device),
                        caption_mask=captions["attention_mask"].to(signals.device),
                        heartbeats=None if heartbeats is None else heartbeats.to(signals.device))
        if "heartbeat_embeds" in outputs and self.loss_fn.cfg.grounding_weight > 0:
            sentences = inner.text_encoder.sentence_texts(tokens["input_ids"].cpu(), tokens["attention_mask"].cpu())
            kinds = sentence_kind_codes(sentences, outputs["sentence_embeds"].shape[1])  # (B, S)
            outputs["sentence_kinds"] = torch.from_numpy(kinds).to(signals.device)
            outputs["heartbeat_types"] = batch["heartbeat_types"].to(signals.device)
        return self.loss_fn(outputs)


def dataset_labels(dataset: Dataset) -> tuple[tuple[str, ...], np.ndarray]:
    """(label names, (N, K) label matrix) of a dataset or a prefix Subset of one."""
    if isinstance(dataset, torch.utils.data.Subset):
        names, matrix = dataset_labels(dataset.dataset)
        return names, matrix[np.asarray(dataset.indices)]
    return tuple(dataset.label_names), dataset.label_matrix()


class ZeroShotValidator:
    """model -> {"val_auroc": macro AUROC of prompt scores on the validation split, "val_per_class": {...}}.

    ``prompts`` maps each label name to one or more phrasings; class embeddings are built as
    ``train.evaluate`` builds them (mean of the phrasings' ``encode_text``). Rank 0 only; no collectives.
    """

    def __init__(self, dataset: Dataset, prompts: dict[str, list[str]], batch_size: int = EVAL_BATCH_SIZE) -> None:
        self.dataset = dataset
        self.label_names, self.labels = dataset_labels(dataset)  # (N, K)
        missing = [name for name in self.label_names if name not in prompts]
        if missing:
            raise KeyError(f"validation prompts lack classes {missing}; expected one entry per label of "
                           f"{self.label_names}")
        self.prompts = prompts
        self.batch_size = batch_size

    def __call__(self, model: nn.Module) -> dict[str, float]:
        model = unwrap(model)
        ecg_embeds = []
        for batch in make_eval_loader(self.dataset, self.batch_size):
            outputs = model.encode_ecg_tensors(batch["signals"].to(model.device),
                                               batch["lead_mask"].to(model.device))
            ecg_embeds.append(outputs["rhythm"].float().cpu().numpy())  # (B, D)
        class_embeds = model.class_embeddings([self.prompts[name] for name in self.label_names])  # (K, D)
        scores = np.concatenate(ecg_embeds) @ class_embeds.T  # (N, K)
        report = macro_auroc(self.labels, scores, self.label_names)
        return {"val_auroc": report.macro, PER_CLASS_KEY: dict(report.per_class)}
