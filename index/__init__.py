"""Retrieval libraries: FAISS indexes of ECG and report embeddings, built from any source, queried by
ECG or by text. ``Library.open(dir)`` to query, ``build_library`` / ``add_records`` to write.

Names load on first use, so ``python -m index.build`` does not import its own module twice.
"""
from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "Library": "index.library",
    "LibraryRow": "index.library",
    "LibraryMismatchError": "index.library",
    "build_library": "index.build",
    "add_records": "index.add",
    "default_library": "index.default",
}

__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'index' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
