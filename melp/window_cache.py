"""The ECG tower's outputs for single windows, kept by content: encode a window once per model state.

The app asks several questions of one window in a row: its embedding (findings, scores), a report, the
heartbeat explanations of the findings and of the report, and a library search. Each used to run the
tower again (five encodes per upload); ``InferenceMixin.encode_window`` keeps the outputs of the last
``CAPACITY`` single windows, keyed by the preprocessed samples, lead mask, heartbeats and precision.
Batches of several windows (evaluation, index builds) are not kept: they are not asked twice, and their
outputs are large. The model forgets every kept output when it enters training mode, loads weights or
changes precision, so an output never outlives the weights that made it.

Written by hand because functools.lru_cache needs hashable arguments; arrays are hashed here by content.
"""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

import numpy as np
import torch

CAPACITY = 8  # single windows kept per model (a few MB for the demo model)


def window_key(signals: np.ndarray, lead_masks: np.ndarray, heartbeats: np.ndarray | None, precision: str) -> bytes:
    """What a window's tower outputs depend on, besides the weights: its samples, lead mask and heartbeats."""
    digest = hashlib.blake2b(digest_size=16)
    for array in (signals, lead_masks) + (() if heartbeats is None else (heartbeats,)):
        array = np.ascontiguousarray(array)
        digest.update(repr((str(array.dtype), array.shape)).encode())
        digest.update(array)  # the buffer itself, no copy
    digest.update(f"{heartbeats is None}:{precision}".encode())
    return digest.digest()


class WindowCache:
    """A small thread-safe LRU of tower outputs (dicts of tensors, never changed by their readers)."""

    def __init__(self, capacity: int = CAPACITY):
        self._kept: OrderedDict[bytes, dict[str, torch.Tensor]] = OrderedDict()
        self._capacity = capacity
        self._lock = threading.Lock()

    def get(self, key: bytes) -> dict[str, torch.Tensor] | None:
        with self._lock:
            found = self._kept.get(key)
            if found is not None:
                self._kept.move_to_end(key)
            return found

    def put(self, key: bytes, outputs: dict[str, torch.Tensor]) -> None:
        with self._lock:
            self._kept[key] = outputs
            while len(self._kept) > self._capacity:
                self._kept.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()

    def __len__(self) -> int:
        return len(self._kept)
