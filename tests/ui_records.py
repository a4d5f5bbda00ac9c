"""Small ECGs the UI tests write: a spike train on every lead, as an EcgRecord or a WFDB pair."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import wfdb

from melp.record import STANDARD_LEADS, EcgRecord

FS = 500


def sinus_like(seconds: float = 10.0, rate_bpm: float = 75.0) -> np.ndarray:
    """(12, T) mV: narrow 1 mV spikes at a regular rate on every lead."""
    time = np.arange(int(seconds * FS)) / FS
    beat_times = np.arange(0.4, seconds, 60.0 / rate_bpm)
    spikes = np.exp(-((time[None, :] - beat_times[:, None]) ** 2) / (2 * 0.012 ** 2)).sum(axis=0)
    return np.tile(spikes, (12, 1)).astype(np.float32)


def sinus_record(**overrides) -> EcgRecord:
    fields = dict(signal=sinus_like(), fs=FS, record_id="rec1", report="Sinus rhythm. Normal ECG.", age=63, sex="F")
    return EcgRecord(**{**fields, **overrides})


def write_wfdb(folder: Path, name: str = "rec1") -> Path:
    wfdb.wrsamp(name, fs=FS, units=["mV"] * 12, sig_name=list(STANDARD_LEADS), p_signal=sinus_like().T.astype(np.float64),
                fmt=["16"] * 12, write_dir=str(folder), comments=["Age: 63", "Sex: Female"])
    return folder / f"{name}.hea"
