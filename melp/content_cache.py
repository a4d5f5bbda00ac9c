"""Results kept by the content they were computed from: a small thread-safe LRU keyed by array digests.

Two users, each asked the same question of the same samples several times per upload in the app:
``melp.beats`` (R peaks of a record: the measurements, the findings' and the report's explanations) and
``InferenceMixin.encode_window`` (the ECG tower's outputs for one window: embed, report, explanations,
library search). Kept values are shared between callers, so no caller may change them.

Written by hand because functools.lru_cache needs hashable arguments; arrays are hashed here by content.
"""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

import numpy as np


def content_key(arrays: Iterable[np.ndarray | None], extra: object = None) -> bytes:
    """A digest of each array's dtype, shape and bytes (None counts as absent), and ``repr(extra)``."""
    digest = hashlib.blake2b(digest_size=16)
    for array in arrays:
        if array is None:
            digest.update(b"none")
            continue
        array = np.ascontiguousarray(array)
        digest.update(repr((str(array.dtype), array.shape)).encode())
        digest.update(array)  # the buffer itself, no copy when already contiguous
    digest.update(repr(extra).encode())
    return digest.digest()


class ContentCache:
    """The last ``capacity`` values, by key, least recently used first out."""

    def __init__(self, capacity: int):
        self._kept: OrderedDict[bytes, Any] = OrderedDict()
        self._capacity = capacity
        self._lock = threading.Lock()

    def get(self, key: bytes) -> Any | None:
        with self._lock:
            found = self._kept.get(key)
            if found is not None:
                self._kept.move_to_end(key)
            return found

    def put(self, key: bytes, value: Any) -> None:
        with self._lock:
            self._kept[key] = value
            while len(self._kept) > self._capacity:
                self._kept.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()

    def __len__(self) -> int:
        return len(self._kept)
