"""Datasets that pair preprocessed ECGs with reports and labels, the array store, and ``open_dataset``.

Names load on first use so ``import melp.datasets`` stays cheap (torch only loads with the store).
"""
from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "EcgTextDataset": "melp.datasets.base",
    "RecordRejected": "melp.datasets.base",
    "normalise_report": "melp.datasets.text",
    "MimicDataset": "melp.datasets.mimic",
    "PtbxlDataset": "melp.datasets.ptbxl",
    "ChallengeDataset": "melp.datasets.challenge",
    "ArrayStoreDataset": "melp.datasets.store",
    "convert_to_store": "melp.datasets.store",
    "open_dataset": "melp.datasets.registry",
    "DATASET_NAMES": "melp.datasets.registry",
}

__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'melp.datasets' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
