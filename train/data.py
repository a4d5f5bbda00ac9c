"""Batches for training: lead masking and sentence subsets, collation, and a sampler that resumes mid-epoch.

Items are the dataset contract's dicts (``signal`` (12, T) float32, ``lead_mask`` (12,) bool,
``report`` str, ``labels`` (K,), ``record_id`` str). Random lead masking is drawn from a generator
seeded by (seed, epoch, index), so it does not depend on worker processes or on where a run resumed.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Sampler, Subset

from melp.data.heartbeats import MAX_HEARTBEATS, PAD
from melp.datasets.text import split_sentences
from train.config import TrainConfig
from train.distributed import DistEnv

LEAD_MASKING_STREAM = 7  # separates the lead-masking seeds from any other use of (seed, epoch, index)
SENTENCE_SUBSET_STREAM = 11  # ... and the sentence-subset seeds
ALT_TEXT_STREAM = 13  # ... and the choice of alternative text
SENTENCE_KEEP_PROB = 0.5  # each sentence of a subsampled report is kept with this probability


def drop_random_leads(signal: np.ndarray, lead_mask: np.ndarray, prob: float,
                      rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Zero each present lead with probability ``prob``, always keeping at least one present lead.

    signal (C, T), lead_mask (C,) bool -> new (signal, lead_mask); inputs are not modified.
    """
    present = np.flatnonzero(lead_mask)
    if present.size == 0 or prob <= 0.0:
        return signal, lead_mask
    dropped = present[rng.random(present.size) < prob]
    if dropped.size == present.size:
        dropped = np.delete(dropped, rng.integers(dropped.size))
    new_mask = lead_mask.copy()
    new_mask[dropped] = False
    new_signal = signal.copy()
    new_signal[dropped] = 0.0
    return new_signal, new_mask


def sample_sentences(report: str, rng: np.random.Generator, keep_prob: float = SENTENCE_KEEP_PROB) -> str:
    """A random non-empty subset of a report's sentences, in their order (each kept with ``keep_prob``)."""
    sentences = split_sentences(report)
    if len(sentences) < 2:
        return report
    keep = rng.random(len(sentences)) < keep_prob
    if not keep.any():
        keep[rng.integers(len(sentences))] = True
    return " ".join(sentence for sentence, kept in zip(sentences, keep) if kept)


class TrainingView(Dataset):
    """A dataset whose items get training-only augmentation, drawn reproducibly per (seed, epoch, index):

    - random lead masking with probability ``prob`` per lead;
    - with probability ``sentence_subset_prob``, ``text_report`` (what the text tower reads) is a random
      non-empty subset of the report's sentences, so single statements, the form of zero-shot prompts,
      are aligned with the ECGs that show them; ``report`` (the caption target) stays whole;
    - with probability ``alt_text_prob``, an item with an ``alt_report`` (e.g. PTB-XL's English original
      beside its composed statements) gives the text tower that text instead (whole).
    """

    def __init__(self, dataset: Dataset, prob: float, seed: int, sentence_subset_prob: float = 0.0,
                 alt_text_prob: float = 0.0, drop_labels: bool = False) -> None:
        self.dataset = dataset
        self.drop_labels = drop_labels  # mixed sources label different vocabularies; pretraining uses none
        self.prob = prob
        self.seed = seed
        self.sentence_subset_prob = sentence_subset_prob
        self.alt_text_prob = alt_text_prob
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self._mask(index, self.dataset[index])

    def __getitems__(self, indices: list[int]) -> list[dict[str, Any]]:
        """Batched read when the dataset has one (the memmap store does), then per-item augmentation."""
        if hasattr(self.dataset, "__getitems__"):
            items = self.dataset.__getitems__(indices)
        else:
            items = [self.dataset[index] for index in indices]
        return [self._mask(index, item) for index, item in zip(indices, items)]

    def _mask(self, index: int, item: dict[str, Any]) -> dict[str, Any]:
        item = dict(item)
        if self.drop_labels:
            item["labels"] = np.zeros(0, np.float32)
        if self.prob > 0.0:
            rng = np.random.default_rng([self.seed, self.epoch, int(index), LEAD_MASKING_STREAM])
            item["signal"], item["lead_mask"] = drop_random_leads(
                np.asarray(item["signal"]), np.asarray(item["lead_mask"], dtype=bool), self.prob, rng)
        if self.alt_text_prob > 0.0 and item.get("alt_report"):
            rng = np.random.default_rng([self.seed, self.epoch, int(index), ALT_TEXT_STREAM])
            if rng.random() < self.alt_text_prob:
                item["text_report"] = str(item["alt_report"])
                return item
        if self.sentence_subset_prob > 0.0:
            rng = np.random.default_rng([self.seed, self.epoch, int(index), SENTENCE_SUBSET_STREAM])
            if rng.random() < self.sentence_subset_prob:
                item["text_report"] = sample_sentences(str(item["report"]), rng)
        return item


def collate_items(items: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Dataset items -> one batch: tensors for signals, masks, labels and heartbeats; lists for text and ids."""
    signals = torch.from_numpy(np.stack([np.asarray(i["signal"], dtype=np.float32) for i in items]))  # (B, C, T)
    lead_mask = torch.from_numpy(np.stack([np.asarray(i["lead_mask"], dtype=bool) for i in items]))  # (B, C)
    labels = torch.from_numpy(np.stack([np.asarray(i["labels"], dtype=np.float32) for i in items]))  # (B, K)
    no_heartbeats = np.full(MAX_HEARTBEATS, PAD)  # sources that do not find heartbeats
    heartbeats = torch.from_numpy(np.stack([np.asarray(i.get("heartbeats", no_heartbeats), dtype=np.int64)
                                            for i in items]))  # (B, MAX_HEARTBEATS)
    heartbeat_types = torch.from_numpy(np.stack([np.asarray(i.get("heartbeat_types", no_heartbeats), dtype=np.int64)
                                                 for i in items]))  # (B, MAX_HEARTBEATS)
    return {"signals": signals, "lead_mask": lead_mask, "labels": labels, "heartbeats": heartbeats,
            "heartbeat_types": heartbeat_types,
            "reports": [str(i["report"]) for i in items],
            "text_reports": [str(i.get("text_report", i["report"])) for i in items],
            "record_ids": [str(i["record_id"]) for i in items]}


class ResumableSampler(Sampler[int]):
    """This rank's share of one epoch (DistributedSampler order), without its first ``skip`` indices."""

    def __init__(self, dataset: Dataset, env: DistEnv, seed: int, epoch: int, skip: int) -> None:
        self.order = DistributedSampler(dataset, num_replicas=env.world_size, rank=env.rank,
                                        shuffle=True, seed=seed, drop_last=True)
        self.order.set_epoch(epoch)
        self.skip = skip

    def __iter__(self) -> Iterator[int]:
        return iter(list(self.order)[self.skip:])

    def __len__(self) -> int:
        return max(len(self.order) - self.skip, 0)


def micro_batches_per_epoch(dataset: Dataset, config: TrainConfig, env: DistEnv) -> int:
    """Micro-batches each rank takes per epoch: whole accumulation windows only."""
    per_rank = len(dataset) // env.world_size
    batches = per_rank // config.batch_size
    return batches - batches % config.grad_accum_steps


def make_train_loader(dataset: Dataset, config: TrainConfig, env: DistEnv, epoch: int, skip_batches: int,
                      generator: torch.Generator, collate: Callable[[list], Any] = collate_items) -> DataLoader:
    """The training loader for ``epoch``, starting after ``skip_batches`` micro-batches (resume).

    ``generator`` seeds the workers; a private one keeps the global torch RNG (dropout) untouched,
    so creating a loader mid-epoch on resume draws nothing an uninterrupted run would not.
    """
    if isinstance(dataset, TrainingView):
        dataset.set_epoch(epoch)
    sampler = ResumableSampler(dataset, env, config.seed, epoch, skip_batches * config.batch_size)
    return DataLoader(dataset, batch_size=config.batch_size, sampler=sampler, drop_last=True,
                      num_workers=config.num_workers, collate_fn=collate,
                      pin_memory=env.device.type == "cuda", generator=generator)


def make_eval_loader(dataset: Dataset, batch_size: int, num_workers: int = 0) -> DataLoader:
    """Every record once, in order."""
    return DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=num_workers,
                      collate_fn=collate_items)


def take_prefix(dataset: Dataset, limit: int) -> Dataset:
    """The first ``limit`` items (all when ``limit`` is 0 or larger than the dataset)."""
    if limit <= 0 or limit >= len(dataset):
        return dataset
    return Subset(dataset, range(limit))


def sample_fraction(n_records: int, fraction: float, seed: int) -> np.ndarray:
    """Sorted indices of ``ceil(fraction * n)`` records (at least one), drawn with a fixed seed."""
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction {fraction}: expected 0 < fraction <= 1 (e.g. 0.01, 0.1, 1.0)")
    count = max(1, math.ceil(fraction * n_records))
    return np.sort(np.random.default_rng(seed).permutation(n_records)[:count])
