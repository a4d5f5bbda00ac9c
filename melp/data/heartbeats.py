"""Heartbeats of a model input window: where they are (R peaks at the model rate) and, when known, their kind.

The model pools one embedding per heartbeat (``PoolerConfig.heartbeat_pooling``); training data and
explanations find the heartbeats the same way, with ``melp.beats`` on the preprocessed window. Kinds
come from a ground-truth beat table where one exists (the simulator's), else stay "unknown".
Fixed-size arrays (``MAX_HEARTBEATS``, padded with ``PAD``) let batches of varying counts stack.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from melp.data.beats import beats
from melp.record import EcgRecord

HEARTBEAT_TYPES = ("unknown", "normal", "pvc", "pac", "paced")  # index = type code
TYPE_OF_TABLE_KIND = {"normal": "normal", "escape": "normal", "pvc": "pvc", "pac": "pac", "paced": "paced"}
PAD = -1  # position and type code of an empty slot
MAX_HEARTBEATS = 40  # 10 s at 240 bpm
TYPE_MATCH_SECONDS = 0.1  # a detected beat takes the kind of the table beat within this distance


def type_code(name: str) -> int:
    """Code of a heartbeat type name ("pvc" -> 2)."""
    return HEARTBEAT_TYPES.index(name)


def input_heartbeats(signal: np.ndarray, fs: float, leads: Sequence[str], lead_mask: np.ndarray | None = None,
                     record_id: str = "") -> np.ndarray:
    """(K,) int64 R-peak sample indices of a preprocessed model input (12, T) at its rate ``fs``, K <= MAX."""
    window = EcgRecord(signal=signal, fs=fs, leads=tuple(leads), lead_mask=lead_mask, record_id=record_id)
    return beats(window).r_peaks[:MAX_HEARTBEATS].astype(np.int64)


def label_heartbeats(r_peaks: np.ndarray, fs: float, table_samples: np.ndarray | None,
                     table_kinds: Sequence[str] | None, table_fs: float) -> np.ndarray:
    """(K,) int8 type codes of ``r_peaks`` (at ``fs``) from a beat table (samples at ``table_fs``, kinds).

    Without a table every heartbeat is "unknown"; a detected beat with no table beat near it too.
    Table kinds that are not heartbeats (blocked P waves) are ignored.
    """
    codes = np.full(r_peaks.shape, type_code("unknown"), dtype=np.int8)
    if table_samples is None or table_kinds is None or len(table_samples) == 0 or r_peaks.size == 0:
        return codes
    kinds = [TYPE_OF_TABLE_KIND.get(kind) for kind in table_kinds]
    keep = np.array([kind is not None for kind in kinds])
    if not keep.any():
        return codes
    positions = np.asarray(table_samples, dtype=np.float64)[keep] * fs / table_fs  # (J,) at fs
    table_codes = np.array([type_code(kind) for kind in kinds if kind is not None], dtype=np.int8)
    distance = np.abs(r_peaks[:, None] - positions[None, :])  # (K, J)
    nearest = distance.argmin(axis=1)
    close = distance[np.arange(r_peaks.size), nearest] <= TYPE_MATCH_SECONDS * fs
    codes[close] = table_codes[nearest[close]]
    return codes


def pad_heartbeats(r_peaks: np.ndarray, types: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """((MAX_HEARTBEATS,) int16 positions, (MAX_HEARTBEATS,) int8 types), PAD beyond the K heartbeats."""
    count = min(r_peaks.size, MAX_HEARTBEATS)
    positions = np.full(MAX_HEARTBEATS, PAD, dtype=np.int16)
    codes = np.full(MAX_HEARTBEATS, PAD, dtype=np.int8)
    positions[:count] = r_peaks[:count]
    codes[:count] = type_code("unknown") if types is None else types[:count]
    return positions, codes
