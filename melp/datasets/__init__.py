"""Datasets that pair preprocessed ECGs with reports and labels, the array store, and ``open_dataset``.

Names load on first use so ``import melp.datasets`` stays cheap (torch only loads with the store).
"""
from __future__ import annotations

from melp.lazy import lazy_exports


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


__getattr__, __dir__ = lazy_exports(globals(), _LAZY)
