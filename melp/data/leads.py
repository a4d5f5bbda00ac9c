"""Lead names: match common spellings, reorder to STANDARD_LEADS, derive limb leads, zero-fill the rest."""
from __future__ import annotations

import logging
import re
import warnings
from pathlib import Path

import numpy as np

from melp.record import STANDARD_LEADS, EcgReadError, EcgReadWarning

logger = logging.getLogger(__name__)

_LEAD_INDEX = {name: i for i, name in enumerate(STANDARD_LEADS)}
# normalised spelling -> canonical name; normalisation lower-cases and drops spaces, '-', '_', '.'
# and a leading "lead". Besides the plain names: Holter modified limb leads (MLII), the European
# D1-D3 for I-III and C1-C6 for V1-V6.
LEAD_ALIASES: dict[str, str] = {
    **{name.lower(): name for name in STANDARD_LEADS},
    "mli": "I", "mlii": "II", "mliii": "III",
    "di": "I", "dii": "II", "diii": "III",
    "d1": "I", "d2": "II", "d3": "III",
    **{f"c{i}": f"V{i}" for i in range(1, 7)},
}
LIMB_LEADS_FROM_I_II = ("III", "aVR", "aVL", "aVF")  # derivable from I and II (Einthoven, Goldberger)


def canonical_lead(name: str) -> str | None:
    """The STANDARD_LEADS name for a file's channel name, or None when it is not an ECG lead."""
    key = re.sub(r"[\s\-_.]", "", str(name)).lower()
    if key.startswith("lead") and len(key) > len("lead"):
        key = key[len("lead"):]
    return LEAD_ALIASES.get(key)


def derive_limb_leads(lead_i: np.ndarray, lead_ii: np.ndarray) -> dict[str, np.ndarray]:
    """III, aVR, aVL, aVF from leads I and II (each (T,) or (..., T))."""
    return {
        "III": lead_ii - lead_i,
        "aVR": -(lead_i + lead_ii) / 2.0,
        "aVL": lead_i - lead_ii / 2.0,
        "aVF": lead_ii - lead_i / 2.0,
    }


def _map_names(names: tuple[str, ...], source: Path) -> dict[str, int]:
    """canonical name -> row in the file; unknown channels are skipped with a log line."""
    rows: dict[str, int] = {}
    for row, name in enumerate(names):
        canonical = canonical_lead(name)
        if canonical is None:
            logger.info("%s: channel %r is not an ECG lead name; skipped", source, name)
            continue
        if canonical in rows:
            raise EcgReadError(
                f"{source}: channels {names[rows[canonical]]!r} and {name!r} are both lead {canonical}, "
                "expected each lead once; pass leads= with the file's channel names to say which is which"
            )
        rows[canonical] = row
    if not rows:
        raise EcgReadError(
            f"{source}: no usable lead among channels {list(names)}, expected names like {list(STANDARD_LEADS)}; "
            "pass leads= with the file's channel names in order"
        )
    return rows


def to_standard_leads(
    signal: np.ndarray, names: tuple[str, ...], source: Path | str, present: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Reorder ``signal`` (C, T) to STANDARD_LEADS.

    Returns (signal (12, T) float32, lead_mask (12,) bool, derived lead names). Rows False in
    ``present`` (C,) count as not recorded. Limb leads missing from the file are derived when I and II
    are present; other missing leads are zero rows with ``lead_mask`` False, with a warning.
    """
    source = Path(source)
    present = np.ones(len(names), dtype=bool) if present is None else np.asarray(present, dtype=bool)
    if tuple(names) == STANDARD_LEADS and present.all():  # the common case: nothing to move
        return np.asarray(signal, dtype=np.float32), np.ones(len(STANDARD_LEADS), dtype=bool), ()
    rows = {name: row for name, row in _map_names(tuple(names), source).items() if present[row]}
    standard = np.zeros((len(STANDARD_LEADS), signal.shape[1]), dtype=np.float32)  # (12, T)
    lead_mask = np.zeros(len(STANDARD_LEADS), dtype=bool)
    for canonical, row in rows.items():
        standard[_LEAD_INDEX[canonical]] = signal[row]
        lead_mask[_LEAD_INDEX[canonical]] = True
    derived: tuple[str, ...] = ()
    if "I" in rows and "II" in rows:
        derived = tuple(name for name in LIMB_LEADS_FROM_I_II if name not in rows)
        derivable = derive_limb_leads(standard[_LEAD_INDEX["I"]], standard[_LEAD_INDEX["II"]])
        for name in derived:
            standard[_LEAD_INDEX[name]] = derivable[name]
            lead_mask[_LEAD_INDEX[name]] = True
        if derived:
            logger.info("%s: derived %s from leads I and II", source, ", ".join(derived))
    missing = [name for name, real in zip(STANDARD_LEADS, lead_mask) if not real]
    if missing:
        message = (
            f"{source}: lead(s) {missing} not recorded (the file has {list(names)}; a flat lead or one with a "
            "long gap counts as not recorded); they are zero-filled and False in lead_mask"
        )
        logger.warning(message)
        warnings.warn(message, EcgReadWarning, stacklevel=3)
    return standard, lead_mask, derived
