"""Retrieval libraries: FAISS indexes of ECG and report embeddings, built from any source, queried by
ECG or by text. ``Library.open(dir)`` to query, ``build_library`` / ``add_records`` to write.

Names load on first use, so ``python -m index.build`` does not import its own module twice.
"""
from __future__ import annotations

from melp.lazy import lazy_exports


_LAZY = {
    "Library": "index.library",
    "LibraryRow": "index.library",
    "LibraryMismatchError": "index.library",
    "build_library": "index.build",
    "add_records": "index.add",
    "default_library": "index.default",
}

__all__ = list(_LAZY)


__getattr__, __dir__ = lazy_exports(globals(), _LAZY)
