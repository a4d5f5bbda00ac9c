"""Compact copies of waveforms kept inside a library, so its real ECGs can be shown without the source files.

What is kept is what the app draws, no more: the first 10 s at 100 Hz (PTB-XL's records100 rate; a true-
scale plot at 25 mm/s has 4 samples per millimetre), the 8 independent leads (I, II, V1-V6; III, aVR,
aVL and aVF follow from I and II by Einthoven's and Goldberger's equations), quantised to 10 uV (0.1 mm
at 10 mm/mV). Stored as first differences in int16, compressed together with LZMA (Python's standard
library): about 3.6 KB per PTB-XL record instead of 24 KB for 12 raw int16 leads.

A hand-written codec because it is a dozen lines over numpy and lzma, and no ECG library offers a
lossy display format.
"""
from __future__ import annotations

import io
import lzma

import numpy as np

from melp.data.preprocess import resample
from melp.record import STANDARD_LEADS, EcgRecord

DISPLAY_FS = 100.0
DISPLAY_SECONDS = 10.0
STEP_MV = 0.01  # quantisation step, mV
STORED_LEADS = ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")
_ROWS = [STANDARD_LEADS.index(name) for name in STORED_LEADS]
INT16_LIMIT = 32767


def can_encode(record: EcgRecord) -> bool:
    """True when the record has every stored lead in standard order (derived leads are recomputed)."""
    return record.leads == STANDARD_LEADS and bool(record.lead_mask[_ROWS].all())


def encode(record: EcgRecord) -> np.ndarray:
    """(8, T) int16 first differences of the stored leads, T = 10 s at 100 Hz (shorter records stay shorter)."""
    if not can_encode(record):
        raise ValueError(f"{record.record_id}: a display copy needs leads {STORED_LEADS} in standard order")
    signal = record.signal[_ROWS, :int(round(DISPLAY_SECONDS * record.fs))].astype(np.float64)  # (8, T)
    if abs(record.fs - DISPLAY_FS) > 1e-6:
        signal = resample(signal, record.fs, DISPLAY_FS)
    steps = np.clip(np.round(signal / STEP_MV), -INT16_LIMIT, INT16_LIMIT).astype(np.int64)  # (8, T)
    return np.clip(np.diff(steps, axis=1, prepend=0), -INT16_LIMIT, INT16_LIMIT).astype(np.int16)


def decode(deltas: np.ndarray, record_id: str) -> EcgRecord:
    """The 12-lead record (mV, 100 Hz) of one display copy."""
    stored = np.cumsum(deltas.astype(np.int64), axis=1) * STEP_MV  # (8, T) mV
    lead_i, lead_ii = stored[0], stored[1]
    limb = np.stack([lead_i, lead_ii, lead_ii - lead_i, -(lead_i + lead_ii) / 2,
                     lead_i - lead_ii / 2, lead_ii - lead_i / 2])  # I, II, III, aVR, aVL, aVF
    signal = np.concatenate([limb, stored[2:]]).astype(np.float32)  # (12, T)
    return EcgRecord(signal=signal, fs=DISPLAY_FS, record_id=record_id)


def write(copies: list[np.ndarray]) -> bytes:
    """LZMA bytes of the copies: an .npz of ``deltas`` (M, 8, T_max) int16 and ``lengths`` (M,)."""
    length = max((copy.shape[1] for copy in copies), default=0)
    stacked = np.zeros((len(copies), len(STORED_LEADS), length), np.int16)
    for row, copy in enumerate(copies):
        stacked[row, :, :copy.shape[1]] = copy
    buffer = io.BytesIO()
    np.savez(buffer, deltas=stacked, lengths=np.array([copy.shape[1] for copy in copies], np.int64))
    return lzma.compress(buffer.getvalue(), preset=9)


def read(blob: bytes) -> list[np.ndarray]:
    """The (8, T) int16 difference arrays ``write`` stored (never unpickled)."""
    with np.load(io.BytesIO(lzma.decompress(blob)), allow_pickle=False) as arrays:
        deltas, lengths = arrays["deltas"], arrays["lengths"]
    return [deltas[row, :, :length] for row, length in enumerate(lengths)]
