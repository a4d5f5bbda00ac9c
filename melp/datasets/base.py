"""The dataset protocol every source implements: raw records in, model-ready samples out.

A sample is a dict with
    signal     (12, T) float32, preprocessed with the model's ``PreprocessConfig`` (``melp.preprocess``)
    lead_mask  (12,) bool, in the same row order
    report     str, normalised (``melp.datasets.text.normalise_report``); "" when the source has none
    labels     (K,) float32 multi-hot over ``label_names`` (K may be 0)
    record_id  str
    heartbeats (MAX_HEARTBEATS,) int16 R peaks of the model input at its rate (``melp.data.heartbeats``),
               PAD (-1) after the last
    heartbeat_types (MAX_HEARTBEATS,) int8 kind codes (``HEARTBEAT_TYPES``; "unknown" without ground truth)
    alt_report str, another English text of the same record ("" when there is none), e.g. PTB-XL's
               English original report beside its composed statements
Reading goes through ``melp.read_ecg`` and preprocessing through ``melp.preprocess`` only.
"""
from __future__ import annotations

import hashlib
import json
import logging
from abc import ABC, abstractmethod
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

import melp
from melp.data.heartbeats import input_heartbeats, label_heartbeats, pad_heartbeats
from melp.record import EcgReadError, EcgRecord

logger = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")


class RecordRejected(ValueError):
    """A record that the dataset's rules drop (NaN or empty signal); the store conversion skips these."""


def check_split(split: str, allowed: tuple[str, ...], dataset: str) -> str:
    """Validate a split name against the ones a dataset defines."""
    if split not in allowed:
        raise ValueError(f"{dataset}: split {split!r} is unknown; expected one of {allowed}")
    return split


def reject_bad_signal(record: EcgRecord, path: Path | str) -> None:
    """Raise ``RecordRejected`` for a signal that is empty, all zero or contains NaN (dropping rule)."""
    signal = record.signal  # (C, T)
    if signal.size == 0 or record.n_samples == 0:
        raise RecordRejected(f"{path}: signal is empty; such records are dropped")
    if not np.isfinite(signal).all():
        raise RecordRejected(f"{path}: signal contains NaN/inf samples; such records are dropped")
    if not np.any(signal[record.lead_mask]):
        raise RecordRejected(f"{path}: every lead is flat zero; such records are dropped")


class EcgTextDataset(ABC):
    """Base class: subclasses list their items and read one raw ``EcgRecord``; this class preprocesses.

    Subclasses set ``name``, ``split``, ``label_names`` and implement ``__len__``, ``record_id``,
    ``report``, ``labels`` and ``read_record``.
    """

    name: str = ""
    split: str = ""
    label_names: tuple[str, ...] = ()

    def __init__(self, preprocess_config: Any = None) -> None:
        self.preprocess_config = preprocess_config if preprocess_config is not None else melp.PreprocessConfig()

    @abstractmethod
    def __len__(self) -> int: ...

    @abstractmethod
    def record_id(self, index: int) -> str: ...

    @abstractmethod
    def report(self, index: int) -> str: ...

    @abstractmethod
    def labels(self, index: int) -> np.ndarray:
        """(K,) float32 multi-hot over ``label_names``."""

    @abstractmethod
    def read_record(self, index: int) -> EcgRecord:
        """The raw record (as ``melp.read_ecg`` returns it, with the normalised report attached)."""

    def alt_report(self, index: int) -> str:
        """Another English text of the record ("" when there is none); sources with one override this."""
        return ""

    def heartbeat_table(self, index: int) -> tuple[np.ndarray, tuple[str, ...]] | None:
        """Ground-truth beats (sample indices at the record's rate, kinds) when the source knows them."""
        return None

    def label_matrix(self) -> np.ndarray:
        """(N, K) float32 labels of every item, without reading any signal."""
        if len(self) == 0:
            return np.zeros((0, len(self.label_names)), np.float32)
        return np.stack([self.labels(i) for i in range(len(self))]).astype(np.float32)

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not -len(self) <= index < len(self):
            raise IndexError(f"{self.name}/{self.split}: index {index} out of range for {len(self)} items")
        index = index % len(self)
        try:
            record = self.read_record(index)
        except EcgReadError as exc:  # empty or all-NaN leads: the dropping rule covers these too
            raise RecordRejected(str(exc)) from exc
        reject_bad_signal(record, record.source or self.record_id(index))
        result = melp.preprocess(record, self.preprocess_config)
        r_peaks = input_heartbeats(result.signal, result.fs, result.leads, result.lead_mask, self.record_id(index))
        table = self.heartbeat_table(index)
        types = label_heartbeats(r_peaks, result.fs, *(table or (None, None)), record.fs)
        heartbeats, heartbeat_types = pad_heartbeats(r_peaks, types)
        return {
            "signal": np.asarray(result.signal, np.float32),  # (12, T)
            "lead_mask": np.asarray(result.lead_mask, bool),  # (12,)
            "report": self.report(index),
            "labels": self.labels(index),  # (K,)
            "record_id": self.record_id(index),
            "heartbeats": heartbeats,  # (MAX_HEARTBEATS,) int16
            "heartbeat_types": heartbeat_types,  # (MAX_HEARTBEATS,) int8
            "alt_report": self.alt_report(index),
        }

    def fingerprint(self) -> str:
        """Hash of what this dataset yields apart from signal bytes: ids, reports, labels, preprocessing."""
        digest = hashlib.sha256()
        header = {"name": self.name, "split": self.split, "labels": list(self.label_names),
                  "preprocess": preprocess_config_dict(self.preprocess_config)}
        digest.update(json.dumps(header, sort_keys=True).encode())
        for index in range(len(self)):
            digest.update(self.record_id(index).encode())
            digest.update(self.report(index).encode())
            digest.update(self.alt_report(index).encode())
            digest.update(self.labels(index).tobytes())
        return digest.hexdigest()


def preprocess_config_dict(config: Any) -> dict[str, Any]:
    """A ``PreprocessConfig`` as a JSON-able dict."""
    return {key: (list(value) if isinstance(value, tuple) else value) for key, value in asdict(config).items()}


def multi_hot(positive: set[str] | list[str] | tuple[str, ...], label_names: tuple[str, ...]) -> np.ndarray:
    """(K,) float32 vector with 1 where ``label_names[k]`` is in ``positive``."""
    wanted = set(positive)
    return np.array([name in wanted for name in label_names], dtype=np.float32)
