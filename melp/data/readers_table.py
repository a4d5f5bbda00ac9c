"""Plain arrays: CSV (one column per lead), NumPy .npy and .npz. Never unpickles."""
from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd

from melp.data.raw import RawEcg, check_duration, check_fs
from melp.record import STANDARD_LEADS, EcgReadError

logger = logging.getLogger(__name__)

# CSV column names taken as a time axis; the value is the factor from that column's unit to seconds
TIME_COLUMNS: dict[str, float] = {
    "time": 1.0, "t": 1.0, "times": 1.0, "time_s": 1.0, "time(s)": 1.0, "seconds": 1.0, "sec": 1.0, "s": 1.0,
    "time_ms": 1e-3, "time(ms)": 1e-3, "ms": 1e-3, "milliseconds": 1e-3,
}
NPZ_SIGNAL_KEYS = ("signal", "ecg", "data", "x", "val")  # array names tried, in order, inside an .npz
MAX_LEAD_AXIS = 16  # an axis this short or shorter is the lead axis when no axis matches the lead count


def _time_scale(column: str) -> float | None:
    return TIME_COLUMNS.get(re.sub(r"\s", "", str(column)).lower())


def _fs_from_time(times: np.ndarray, column: str, scale: float, csv_path: Path) -> float:
    steps = np.diff(times.astype(np.float64)) * scale  # (T-1,) seconds
    if steps.size == 0 or not np.all(steps > 0):
        raise EcgReadError(
            f"{csv_path}: time column {column!r} is not strictly increasing, expected one timestamp per row; "
            "fix the column or drop it and pass fs="
        )
    step = float(np.median(steps))
    if np.max(np.abs(steps - step)) > 0.01 * step + 1e-9:
        logger.warning("%s: time column %r is not evenly spaced; using the median step", csv_path, column)
    return 1.0 / step


def _numeric_cells(cells: np.ndarray, names: list[str], csv_path: Path, first_row: int) -> np.ndarray:
    """float64 (T, columns) from string cells; names the first cell that is not a number."""
    try:
        return cells.astype(np.float64)
    except (ValueError, TypeError):
        parsed = pd.DataFrame(cells).apply(pd.to_numeric, errors="coerce").to_numpy()
        bad = np.argwhere(np.isnan(parsed) & pd.notna(cells) & (np.char.strip(cells.astype(str)) != ""))
        row, col = bad[0]
        raise EcgReadError(
            f"{csv_path}: column {names[col]!r}, line {first_row + row + 1} holds {cells[row, col]!r}, "
            "expected numbers only (one header row, then one numeric column per lead); fix or remove that cell"
        ) from None


def _is_number(cell: object) -> bool:
    try:
        float(str(cell))
    except ValueError:
        return False
    return True


def _csv_cells(csv_path: Path) -> tuple[list[str] | None, np.ndarray]:
    """(header names or None, string cells (rows, columns)) of a CSV."""
    try:
        frame = pd.read_csv(csv_path, header=None, dtype=str, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise EcgReadError(
            f"{csv_path}: not a readable CSV ({type(exc).__name__}: {exc}), expected a header row of lead names "
            "and one numeric column per lead; fix the file or export it again"
        ) from exc
    cells = frame.to_numpy(dtype=object)  # (rows, columns)
    if all(_is_number(cell) for cell in cells[0]):
        return None, cells
    return [str(cell).strip() for cell in cells[0]], cells[1:]


def read_csv(csv_path: Path, fs: float | None, leads: tuple[str, ...] | None, max_seconds: float) -> RawEcg:
    """A CSV with one column per lead; an optional time column gives fs, otherwise fs= is required."""
    header, cells = _csv_cells(csv_path)
    n_columns = cells.shape[1]
    time_index = None
    if header is not None:
        time_index = next((i for i, column in enumerate(header) if _time_scale(column) is not None), None)
    lead_columns = [i for i in range(n_columns) if i != time_index]
    if leads is not None and len(leads) != len(lead_columns):
        raise EcgReadError(
            f"{csv_path}: {len(lead_columns)} lead columns but leads= gives {len(leads)} names, expected one "
            "name per lead column; fix leads="
        )
    if leads is None and header is None:
        raise EcgReadError(
            f"{csv_path}: the first row is numbers, expected a header row naming the leads; "
            "add a header row (I,II,...,V6) or pass leads= with one name per column"
        )
    names = list(leads) if leads is not None else [header[i] for i in lead_columns]
    values = _numeric_cells(cells, header or [str(i) for i in range(n_columns)], csv_path, int(header is not None))
    if values.shape[0] == 0:
        raise EcgReadError(f"{csv_path}: no data rows, expected one row per sample; check the export")
    if time_index is not None:
        inferred = _fs_from_time(values[:, time_index], header[time_index], _time_scale(header[time_index]), csv_path)
        if fs is None:
            fs = inferred
        elif abs(inferred - fs) > 0.01 * fs:
            logger.warning("%s: fs=%g given but the time column says %.4g Hz; using fs=%g", csv_path, fs, inferred, fs)
    fs = check_fs(fs, csv_path)
    check_duration(values.shape[0], fs, max_seconds, csv_path)
    signal = values[:, lead_columns].T  # (C, T)
    return RawEcg(signal=signal, fs=fs, names=tuple(names), units=(None,) * len(names), record_id=csv_path.stem)


def _orient(array: np.ndarray, n_leads: int | None, path: Path) -> np.ndarray:
    """(C, T) from a 2-D array stored either way round."""
    if array.ndim != 2:
        raise EcgReadError(
            f"{path}: array has shape {array.shape}, expected 2-D (leads, samples) or (samples, leads); "
            "reshape it before saving"
        )
    expected = n_leads or len(STANDARD_LEADS)
    rows_match, cols_match = array.shape[0] == expected, array.shape[1] == expected
    if rows_match and not cols_match:
        return array
    if cols_match and not rows_match:
        return array.T
    short_axis = int(np.argmin(array.shape))
    if array.shape[short_axis] <= MAX_LEAD_AXIS and array.shape[0] != array.shape[1]:
        return array if short_axis == 0 else array.T
    raise EcgReadError(
        f"{path}: cannot tell the lead axis of shape {array.shape}, expected one axis of length {expected}; "
        "pass leads= naming the leads in order, or transpose to (leads, samples)"
    )


def _load_numpy(path: Path) -> tuple[np.ndarray, float | None, tuple[str, ...] | None]:
    try:
        loaded = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise EcgReadError(
            f"{path}: not a readable NumPy file without pickles ({exc}), expected a numeric array saved with "
            "np.save/np.savez; save plain numbers (object arrays are refused for safety)"
        ) from exc
    if isinstance(loaded, np.ndarray):
        return loaded, None, None
    with loaded:
        key = next((k for k in NPZ_SIGNAL_KEYS if k in loaded.files), None)
        if key is None and len(loaded.files) == 1:
            key = loaded.files[0]
        if key is None:
            raise EcgReadError(
                f"{path}: arrays {loaded.files}, expected one named one of {list(NPZ_SIGNAL_KEYS)}; "
                "save the signal as np.savez(path, signal=x)"
            )
        stored_fs = float(loaded["fs"]) if "fs" in loaded.files else None
        stored_leads = tuple(str(name) for name in loaded["leads"]) if "leads" in loaded.files else None
        return loaded[key], stored_fs, stored_leads


def read_numpy(path: Path, fs: float | None, leads: tuple[str, ...] | None, max_seconds: float) -> RawEcg:
    """A .npy array or an .npz (signal plus optional ``fs`` and ``leads``), either orientation."""
    array, stored_fs, stored_leads = _load_numpy(path)
    if not np.issubdtype(array.dtype, np.number):
        raise EcgReadError(f"{path}: array dtype {array.dtype}, expected numbers; save a float or int array")
    names = leads or stored_leads
    signal = _orient(np.asarray(array, dtype=np.float64), len(names) if names else None, path)  # (C, T)
    if names is None:
        if signal.shape[0] != len(STANDARD_LEADS):
            raise EcgReadError(
                f"{path}: {signal.shape[0]} leads and no names, expected 12 in the order {list(STANDARD_LEADS)}; "
                "pass leads= naming the rows in order"
            )
        names = STANDARD_LEADS
    elif len(names) != signal.shape[0]:
        raise EcgReadError(
            f"{path}: {signal.shape[0]} leads but {len(names)} names, expected one name per lead; fix leads="
        )
    fs = check_fs(fs if fs is not None else stored_fs, path)
    check_duration(signal.shape[1], fs, max_seconds, path)
    return RawEcg(signal=signal, fs=fs, names=tuple(names), units=(None,) * len(names), record_id=path.stem)
