"""Plain arrays: CSV (one column per lead), NumPy .npy and .npz. Never unpickles."""
from __future__ import annotations

import csv
import io
import logging
import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from melp.data.raw import ANY_RATE, RawEcg, check_duration, check_fs
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
        frame = pd.read_csv(csv_path, header=None, dtype=str, skipinitialspace=True, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise EcgReadError(
            f"{csv_path}: not a readable CSV ({type(exc).__name__}: {exc}), expected a header row of lead names "
            "and one numeric column per lead; fix the file or export it again"
        ) from exc
    cells = frame.to_numpy(dtype=object)  # (rows, columns)
    _refuse_missing_cells(cells, csv_path)
    if all(_is_number(cell) for cell in cells[0]):
        return None, cells
    return [str(cell).strip() for cell in cells[0]], cells[1:]


def _refuse_missing_cells(cells: np.ndarray, csv_path: Path) -> None:
    """A line with fewer values than the widest one, or an empty cell, is refused with its line number."""
    empty = np.char.strip(cells.astype(str)) == ""  # (rows, columns); missing trailing fields read as "" too
    if not empty.any():
        return
    row = int(np.flatnonzero(empty.any(axis=1))[0])
    with open(csv_path, newline="", encoding="utf-8", errors="replace") as handle:
        line = next(line for index, line in enumerate(csv.reader(handle)) if index == row)
    if len(line) < cells.shape[1]:
        found = f"has {len(line)} of {cells.shape[1]} values"
    else:
        found = f"has an empty cell in column {int(np.flatnonzero(empty[row])[0]) + 1}"
    raise EcgReadError(
        f"{csv_path}: line {row + 1} {found}, expected one number per column on every line; fix or remove that "
        "line (write NaN for a sample the recording lacks)"
    )


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
    fs = check_fs(fs, csv_path, ANY_RATE)
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


def _read_header(handle) -> tuple[tuple[int, ...], bool, np.dtype]:
    """(shape, fortran order, dtype) from an .npy stream's header, with numpy's own public parsers."""
    version = np.lib.format.read_magic(handle)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(handle)
    return np.lib.format.read_array_header_2_0(handle)


def _declared_array(handle, where: str, available: int, max_bytes: int, path: Path) -> tuple[tuple[int, ...], np.dtype]:
    """(shape, dtype) an .npy stream declares, checked before anything is allocated: plain numbers only,
    no more bytes than the file holds or ``max_bytes`` allows."""
    try:
        shape, _, dtype = _read_header(handle)
    except (ValueError, OSError, EOFError, SyntaxError) as exc:
        raise EcgReadError(f"{path}: {where} is not a NumPy array ({exc}), expected an array saved with "
                           "np.save/np.savez; save the signal again") from exc
    if dtype.hasobject or dtype.kind not in "biuf":
        raise EcgReadError(f"{path}: {where} holds {dtype} values, expected plain numbers (float or int); object "
                           "arrays are refused without unpickling, save a numeric array")
    declared = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize if shape else dtype.itemsize
    if declared > min(available, max_bytes):
        raise EcgReadError(f"{path}: {where} declares shape {shape} ({declared} bytes), expected no more than "
                           f"the {available} bytes the file holds (and max_bytes={max_bytes}); the file is damaged "
                           "or not what it says, save it again")
    return tuple(shape), dtype


def _load_npy(path: Path, max_bytes: int) -> np.ndarray:
    with open(path, "rb") as handle:
        _declared_array(handle, "the array", path.stat().st_size, max_bytes, path)
    return np.load(path, allow_pickle=False)


def _npz_member(archive: zipfile.ZipFile, name: str, max_bytes: int, path: Path) -> np.ndarray:
    info = archive.getinfo(f"{name}.npy")
    with archive.open(info) as handle:
        _declared_array(handle, f"array {name!r}", info.file_size, max_bytes, path)
    with archive.open(info) as handle:
        return np.lib.format.read_array(io.BytesIO(handle.read()), allow_pickle=False)


def _npz_fs(archive: zipfile.ZipFile, max_bytes: int, path: Path) -> float | None:
    value = _npz_member(archive, "fs", max_bytes, path)
    if value.size != 1:
        raise EcgReadError(f"{path}: 'fs' holds {value.size} values, expected one sampling rate in Hz; save "
                           "np.savez(path, signal=x, fs=500)")
    return float(value.reshape(-1)[0])


def _npz_leads(archive: zipfile.ZipFile, max_bytes: int, path: Path) -> tuple[str, ...]:
    info = archive.getinfo("leads.npy")
    with archive.open(info) as handle:
        try:
            shape, _, dtype = _read_header(handle)
        except (ValueError, OSError, EOFError, SyntaxError) as exc:
            raise EcgReadError(f"{path}: 'leads' is not a NumPy array ({exc}), expected lead names") from exc
    if dtype.kind not in "US" or len(shape) != 1 or info.file_size > max_bytes:
        raise EcgReadError(f"{path}: 'leads' holds {dtype} values of shape {shape}, expected a list of lead names "
                           "(one string per lead); save np.savez(path, signal=x, leads=['I', 'II', ...])")
    with archive.open(info) as handle:
        names = np.lib.format.read_array(io.BytesIO(handle.read()), allow_pickle=False)
    return tuple(str(name) for name in names)


def _load_numpy(path: Path, max_bytes: int) -> tuple[np.ndarray, float | None, tuple[str, ...] | None]:
    """The array of a .npy, or the signal (and ``fs``, ``leads``) of an .npz, never unpickling anything."""
    if path.suffix.lower() == ".npy":
        return _load_npy(path, max_bytes), None, None
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise EcgReadError(f"{path}: not a readable .npz ({exc}), expected arrays saved with np.savez; "
                           "save the signal again") from exc
    with archive:
        files = [name.removesuffix(".npy") for name in archive.namelist() if name.endswith(".npy")]
        key = next((k for k in NPZ_SIGNAL_KEYS if k in files), None)
        if key is None and len(files) == 1:
            key = files[0]
        if key is None:
            raise EcgReadError(
                f"{path}: arrays {files}, expected one named one of {list(NPZ_SIGNAL_KEYS)}; "
                "save the signal as np.savez(path, signal=x)"
            )
        stored_fs = _npz_fs(archive, max_bytes, path) if "fs" in files else None
        stored_leads = _npz_leads(archive, max_bytes, path) if "leads" in files else None
        return _npz_member(archive, key, max_bytes, path), stored_fs, stored_leads


def read_numpy(path: Path, fs: float | None, leads: tuple[str, ...] | None, max_seconds: float,
               max_bytes: int) -> RawEcg:
    """A .npy array or an .npz (signal plus optional ``fs`` and ``leads``), either orientation."""
    array, stored_fs, stored_leads = _load_numpy(path, max_bytes)
    if not np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.complexfloating):
        raise EcgReadError(f"{path}: array dtype {array.dtype}, expected real numbers; save a float or int array")
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
    fs = check_fs(fs if fs is not None else stored_fs, path, ANY_RATE)
    check_duration(signal.shape[1], fs, max_seconds, path)
    return RawEcg(signal=signal, fs=fs, names=tuple(names), units=(None,) * len(names), record_id=path.stem)
