"""The one record type every reader returns and every consumer takes."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

STANDARD_LEADS: tuple[str, ...] = (
    "I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6",
)
# Row order of MIMIC-IV-ECG files and of the official MELP encoder's input (aVF before aVL).
MIMIC_LEADS: tuple[str, ...] = (
    "I", "II", "III", "aVR", "aVF", "aVL", "V1", "V2", "V3", "V4", "V5", "V6",
)


class EcgReadError(ValueError):
    """A file could not be read as an ECG; the message names the file, the problem and the fix."""


class EcgReadWarning(UserWarning):
    """A file was read, but something in it looks wrong (missing leads, implausible amplitudes)."""


@dataclass(frozen=True)
class EcgRecord:
    """One ECG recording in millivolts, leads ordered as given in ``leads``.

    Readers always return the 12 leads in ``STANDARD_LEADS`` order; leads that were not in the
    file are zero-filled and ``False`` in ``lead_mask``.
    """

    signal: np.ndarray  # (C, T) float32, mV
    fs: float  # sampling rate, Hz
    leads: tuple[str, ...] = STANDARD_LEADS
    record_id: str = ""
    report: str | None = None
    labels: tuple[str, ...] = ()  # diagnosis codes or readable names
    age: float | None = None
    sex: str | None = None  # "M", "F" or None
    source: str | None = None  # path the record was read from
    lead_mask: np.ndarray | None = field(default=None)  # (C,) bool, True where the lead is real
    label_codes: tuple[str, ...] = ()  # the file's own diagnosis codes (e.g. SNOMED CT), when ``labels`` are names

    def __post_init__(self) -> None:
        signal = np.asarray(self.signal, dtype=np.float32)
        if signal.ndim != 2:
            raise EcgReadError(
                f"{self.record_id or 'EcgRecord'}: signal has shape {signal.shape}, expected (leads, samples)"
            )
        if len(self.leads) != signal.shape[0]:
            raise EcgReadError(
                f"{self.record_id or 'EcgRecord'}: {signal.shape[0]} signal rows but {len(self.leads)} lead names"
            )
        if not np.isfinite(self.fs) or self.fs <= 0:
            raise EcgReadError(f"{self.record_id or 'EcgRecord'}: sampling rate {self.fs!r} Hz; expected fs > 0")
        mask = np.ones(signal.shape[0], dtype=bool) if self.lead_mask is None else np.asarray(self.lead_mask, bool)
        if mask.shape != (signal.shape[0],):
            raise EcgReadError(f"{self.record_id or 'EcgRecord'}: lead_mask shape {mask.shape}, expected ({signal.shape[0]},)")
        object.__setattr__(self, "signal", signal)
        object.__setattr__(self, "fs", float(self.fs))
        object.__setattr__(self, "leads", tuple(self.leads))
        object.__setattr__(self, "labels", tuple(self.labels))
        object.__setattr__(self, "label_codes", tuple(self.label_codes))
        object.__setattr__(self, "lead_mask", mask)

    @property
    def n_leads(self) -> int:
        return int(self.signal.shape[0])

    @property
    def n_samples(self) -> int:
        return int(self.signal.shape[1])

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.n_samples / self.fs

    def lead(self, name: str) -> np.ndarray:
        """One lead's samples (T,) by canonical name."""
        try:
            return self.signal[self.leads.index(name)]
        except ValueError:
            raise KeyError(f"{self.record_id}: no lead {name!r}; leads are {self.leads}") from None
