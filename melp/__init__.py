"""MELP: multi-scale ECG-language pretraining, and the public API every layer calls.

Heavy modules (torch, transformers) load on first use, so ``import melp`` stays cheap and
``melp.read_ecg`` works without touching torch.
"""
from __future__ import annotations

from melp.lazy import lazy_exports


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
    "EcgEmbeddings": "melp.embeddings",
    "measure": "melp.measurements",
    "Measurements": "melp.measurements",
    "GenerationConfig": "melp.generation",
    "Provenance": "melp.provenance",
}

__all__ = ["EcgRecord", "EcgReadError", "EcgReadWarning", "STANDARD_LEADS", "MIMIC_LEADS", "__version__", *_LAZY]


__getattr__, __dir__ = lazy_exports(globals(), _LAZY, eager=__all__)
