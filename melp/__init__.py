"""MELP: multi-scale ECG-language pretraining, and the public API every layer calls.

Heavy modules (torch, transformers) load on first use, so ``import melp`` stays cheap and
``melp.read_ecg`` works without touching torch.
"""
from __future__ import annotations

import importlib
from typing import Any

from melp.record import MIMIC_LEADS, STANDARD_LEADS, EcgReadError, EcgReadWarning, EcgRecord

__version__ = "0.1.0"

# public name -> module that defines it
_LAZY = {
    "read_ecg": "melp.data.read",
    "preprocess": "melp.data.preprocess",
    "PreprocessConfig": "melp.data.preprocess",
    "PreprocessResult": "melp.data.preprocess",
    "windows": "melp.data.preprocess",
    "beats": "melp.data.beats",
    "BeatInfo": "melp.data.beats",
    "MelpConfig": "melp.config",
    "MelpModel": "melp.models.melp",
    "load": "melp.api",
    "load_official_encoder": "melp.models.official",
}

__all__ = ["EcgRecord", "EcgReadError", "EcgReadWarning", "STANDARD_LEADS", "MIMIC_LEADS", "__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'melp' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
