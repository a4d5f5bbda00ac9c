"""``read_ecg``: any supported file -> one ``EcgRecord`` (12 leads, mV, STANDARD_LEADS order).

The reader's contract: a valid record (finite values, a plausible rate) or ``EcgReadError`` naming the
file by its name (never the folder it sits in), what was found, what was expected and the fix.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from melp.data.dx_codes import dx_names
from melp.data.leads import to_standard_leads
from melp.data.raw import (DEFAULT_FS_RANGE, DEFAULT_MAX_BYTES, DEFAULT_MAX_SECONDS, RawEcg, check_file_size,
                           check_fs, check_signal, flat_leads, repair_non_finite)
from melp.data.readers_challenge import read_challenge, read_cpsc2018
from melp.data.readers_table import read_csv, read_numpy
from melp.data.readers_wfdb import read_wfdb, summarise_header
from melp.data.units import (DEFAULT_UNITS, to_millivolts, warn_if_gain_contradicts, warn_if_implausible,
                             warn_if_normalised)
from melp.record import EcgReadError, EcgRecord

logger = logging.getLogger(__name__)

SUPPORTED = ".hea (WFDB or challenge), WFDB base name, .mat, .csv, .npy, .npz"
HDF5_SUFFIXES = (".h5", ".hdf5", ".hdf")
REPORT_COMMENT_KEYS = ("report",)  # header comments whose value becomes EcgRecord.report


def _header_for(path: Path) -> Path | None:
    """The WFDB header a path refers to (the .hea itself, a base name, or a .dat/.mat beside one)."""
    if path.suffix == ".hea":
        return path
    candidate = path.with_suffix(".hea") if path.suffix in (".dat", ".mat") else Path(f"{path}.hea")
    return candidate if candidate.exists() else None


def _read_with_header(hea_path: Path, max_seconds: float, max_bytes: int) -> RawEcg:
    summary = summarise_header(hea_path)
    mat_files = [name for name in summary.files if name.lower().endswith(".mat")]
    if mat_files:
        return read_challenge(hea_path, hea_path.parent / mat_files[0], max_seconds, max_bytes, summary)
    return read_wfdb(hea_path, max_seconds, max_bytes, summary)


def _read_raw(path: Path, fs: float | None, leads: tuple[str, ...] | None, max_seconds: float, max_bytes: int) -> RawEcg:
    """Dispatch on the file type."""
    suffix = path.suffix.lower()
    if path.is_dir():
        raise EcgReadError(f"{path}: is a folder, expected an ECG file ({SUPPORTED}); pass the file inside it")
    header = _header_for(path)
    if header is not None:
        if not header.exists():
            raise EcgReadError(f"{path}: header {header} not found, expected a WFDB .hea; check the path")
        return _read_with_header(header, max_seconds, max_bytes)
    if suffix in HDF5_SUFFIXES:
        raise EcgReadError(
            f"{path}: HDF5 files are not supported, expected {SUPPORTED}; export the array with h5py and "
            "np.save, then read_ecg(path.npy, fs=...)"
        )
    if not path.exists():
        raise EcgReadError(f"{path}: no such file (nor {path}.hea), expected {SUPPORTED}; check the path")
    if suffix == ".mat":
        return read_cpsc2018(path, max_seconds, max_bytes)
    if suffix in (".csv", ".npy", ".npz"):
        check_file_size([path], max_bytes, path)
        if suffix == ".csv":
            return read_csv(path, fs, leads, max_seconds)
        return read_numpy(path, fs, leads, max_seconds, max_bytes)
    raise EcgReadError(f"{path}: unknown file type {path.suffix!r}, expected {SUPPORTED}; convert the file")


def read_ecg(
    path: str | os.PathLike,
    *,
    fs: float | None = None,
    leads: tuple[str, ...] | list[str] | None = None,
    units: str | None = None,
    max_seconds: float = DEFAULT_MAX_SECONDS,
    max_bytes: int = DEFAULT_MAX_BYTES,
    fs_range: tuple[float, float] = DEFAULT_FS_RANGE,
) -> EcgRecord:
    """Read one ECG file into an ``EcgRecord`` with the 12 standard leads in millivolts.

    Args:
        path: WFDB base name or .hea (also challenge .mat + .hea), original CPSC2018 .mat, .csv, .npy, .npz.
        fs: sampling rate in Hz; required for .npy/.npz and for CSV without a time column; for other
            formats it overrides the file's rate (with a warning when they differ).
        leads: the file's channel names in order, for files that do not name them (or name them oddly).
        units: amplitude unit ("mV", "uV"); overrides the file's units. CSV and NumPy default to mV.
        max_seconds: longest record accepted (default 24 h).
        max_bytes: largest file (and largest array a file declares) accepted (default 1 GiB).
        fs_range: plausible sampling rates in Hz (default 50-10,000); others are refused.

    The returned signal is finite: runs of NaN or infinite samples up to 0.25 s are interpolated, a lead
    with a longer run is zeroed and False in ``lead_mask``, and so is a flat (constant) lead; each such
    repair is logged as a warning.

    Raises:
        EcgReadError: the file is missing, malformed, too large, or holds no usable ECG.
    """
    path = Path(path)
    try:
        return _read_ecg(path, fs, leads, units, max_seconds, max_bytes, fs_range)
    except EcgReadError as exc:
        raise EcgReadError(_without_folder(str(exc), path)) from None
    except Exception as exc:  # the contract: whatever a parsing library raises becomes EcgReadError
        logger.debug("%s: unexpected %s while reading", path.name, type(exc).__name__, exc_info=True)
        raise EcgReadError(_without_folder(
            f"{path.name}: could not be read as an ECG ({type(exc).__name__}: {exc}), expected {SUPPORTED}; "
            "check that the file is complete and in one of these formats", path)) from None


def _without_folder(message: str, path: Path) -> str:
    """The message with the file's folder left out: it names files, never where they sit on a machine."""
    for folder in {str(path.parent), str(path.parent.resolve()), os.path.abspath(path.parent)}:
        if folder not in ("", "."):
            message = message.replace(folder.rstrip(os.sep) + os.sep, "")
    return message


def _read_ecg(path: Path, fs: float | None, leads: tuple[str, ...] | list[str] | None, units: str | None,
              max_seconds: float, max_bytes: int, fs_range: tuple[float, float]) -> EcgRecord:
    lead_names = tuple(leads) if leads is not None else None
    if fs is not None:
        check_fs(fs, path, fs_range)
    raw = _read_raw(path, fs, lead_names, max_seconds, max_bytes)
    if fs is not None and raw.fs is not None and abs(raw.fs - fs) > 1e-9:
        logger.warning("%s: file says %g Hz, fs=%g given; using fs=%g", path, raw.fs, fs, fs)
        raw.fs = fs
    record_fs = check_fs(raw.fs, path, fs_range)
    names = lead_names if lead_names is not None and len(lead_names) == raw.signal.shape[0] else raw.names
    check_signal(raw.signal, names, path)
    file_has_units = any(unit is not None for unit in raw.units)
    signal_mv = to_millivolts(raw.signal, (units,) * len(names) if units else raw.units, path)  # (C, T)
    signal_mv, present = repair_non_finite(signal_mv, names, record_fs, path)
    flat = flat_leads(signal_mv, present)
    if flat.all() or not (present & ~flat).any():
        raise EcgReadError(f"{path}: every lead is flat (the same value throughout), expected an ECG; check the "
                           "export (an all-zero file holds no recording)")
    if flat.any():
        logger.warning("%s: lead(s) %s are flat (the same value throughout); treated as not recorded", path,
                       [names[i] for i in np.flatnonzero(flat)])
    present &= ~flat
    if not file_has_units:
        warn_if_implausible(signal_mv[present], units or DEFAULT_UNITS, path)
    elif units is None:
        warn_if_gain_contradicts(signal_mv[present], path)
    warn_if_normalised(signal_mv[present], path)
    standard, lead_mask, _ = to_standard_leads(signal_mv, names, path, present)  # (12, T), (12,)
    report = next((raw.extra[key] for key in REPORT_COMMENT_KEYS if key in raw.extra), None)
    return EcgRecord(
        signal=standard,
        fs=record_fs,
        record_id=raw.record_id,
        report=report,
        labels=tuple(dict.fromkeys((*dx_names(raw.label_codes), *raw.diagnoses))),
        label_codes=raw.label_codes,
        age=raw.age,
        sex=raw.sex,
        source=str(path),
        lead_mask=lead_mask,
    )
