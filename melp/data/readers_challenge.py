"""MATLAB-file ECGs: the PhysioNet/CinC challenge layout (.mat ``val`` + .hea) and original CPSC2018."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.io
import wfdb

from melp.data.raw import RawEcg, check_duration, check_file_size
from melp.data.readers_wfdb import SEX_SPELLINGS, _parse_age, parse_comments
from melp.record import STANDARD_LEADS, EcgReadError

CHALLENGE_VARIABLE = "val"  # (C, T) digital values in the challenge .mat files
CPSC2018_STRUCT = "ECG"  # original CPSC2018: struct with fields data (12, T) mV, sex, age
CPSC2018_FS = 500.0  # every original CPSC2018 record is sampled at 500 Hz
CPSC2018_UNITS = "mV"


def _load_mat(mat_path: Path, variable: str) -> dict:
    try:
        return scipy.io.loadmat(str(mat_path), variable_names=[variable])
    except (ValueError, OSError, TypeError, NotImplementedError) as exc:
        raise EcgReadError(
            f"{mat_path}: not a readable MATLAB file ({type(exc).__name__}: {exc}), expected a .mat holding "
            f"'{variable}'; re-export it (MATLAB v4-v7.2 format, not v7.3/HDF5)"
        ) from exc


def read_challenge(hea_path: Path, mat_path: Path, max_seconds: float, max_bytes: int) -> RawEcg:
    """A challenge record: ``val`` (C, T) from the .mat, gains, units, names and Dx/Age/Sex from the .hea."""
    check_file_size([hea_path, mat_path], max_bytes, hea_path)
    try:
        header = wfdb.rdheader(str(hea_path.with_suffix("")))
    except (ValueError, OSError, IndexError, TypeError) as exc:
        raise EcgReadError(
            f"{hea_path}: wfdb could not parse the header ({type(exc).__name__}: {exc}), expected a WFDB header; "
            "fix or regenerate it"
        ) from exc
    if header.fs is not None and header.fs > 0 and header.sig_len:
        check_duration(header.sig_len, header.fs, max_seconds, hea_path)
    if not mat_path.exists():
        raise EcgReadError(
            f"{hea_path}: signal file {mat_path.name} not found next to the header, expected {mat_path}; "
            "copy the .mat beside the .hea"
        )
    digital = _load_mat(mat_path, CHALLENGE_VARIABLE).get(CHALLENGE_VARIABLE)
    if digital is None:
        raise EcgReadError(
            f"{mat_path}: no variable '{CHALLENGE_VARIABLE}', expected the challenge layout (val: leads x samples); "
            "save the signal as 'val' or use another format"
        )
    digital = np.atleast_2d(np.asarray(digital, dtype=np.float64))  # (C, T)
    if digital.shape != (header.n_sig, header.sig_len):
        raise EcgReadError(
            f"{mat_path}: 'val' has shape {digital.shape}, expected ({header.n_sig}, {header.sig_len}) as "
            f"{hea_path.name} says; the .mat and .hea do not belong together: copy the matching pair"
        )
    gains = np.array([gain or 1.0 for gain in header.adc_gain], dtype=np.float64)  # (C,)
    baselines = np.array(header.baseline or [0] * header.n_sig, dtype=np.float64)  # (C,)
    codes, age, sex, extra = parse_comments(list(header.comments or []))
    return RawEcg(
        signal=(digital - baselines[:, None]) / gains[:, None],
        fs=float(header.fs) if header.fs is not None else None,
        names=tuple(header.sig_name),
        units=tuple(unit or None for unit in header.units),
        record_id=header.record_name,
        label_codes=codes,
        age=age,
        sex=sex,
        extra=extra,
    )


def _struct_field(struct: np.ndarray, name: str) -> object | None:
    if struct.dtype.names is None or name not in struct.dtype.names:
        return None
    value = np.squeeze(struct[name].item() if struct[name].size == 1 else struct[name])
    return value.item() if isinstance(value, np.ndarray) and value.size == 1 else value


def read_cpsc2018(mat_path: Path, max_seconds: float, max_bytes: int) -> RawEcg:
    """An original CPSC2018 .mat: struct ``ECG`` with ``data`` (12, T) in mV, ``sex``, ``age``; 500 Hz."""
    check_file_size([mat_path], max_bytes, mat_path)
    contents = _load_mat(mat_path, CPSC2018_STRUCT)
    struct = contents.get(CPSC2018_STRUCT)
    if struct is None:
        raise EcgReadError(
            f"{mat_path}: no .hea beside it and no struct '{CPSC2018_STRUCT}' inside, expected the challenge "
            "layout (.mat + .hea) or original CPSC2018 (struct ECG with data, sex, age); add the .hea"
        )
    struct = np.asarray(struct).reshape(-1)[0:1]
    data = _struct_field(struct, "data")
    if not isinstance(data, np.ndarray) or data.ndim != 2:
        raise EcgReadError(
            f"{mat_path}: ECG.data is {type(data).__name__}, expected a 12 x samples matrix; check the file"
        )
    check_duration(data.shape[1], CPSC2018_FS, max_seconds, mat_path)
    sex = _struct_field(struct, "sex")
    age = _struct_field(struct, "age")
    return RawEcg(
        signal=np.asarray(data, dtype=np.float64),  # (12, T)
        fs=CPSC2018_FS,
        names=STANDARD_LEADS[: data.shape[0]],
        units=(CPSC2018_UNITS,) * data.shape[0],
        record_id=mat_path.stem,
        age=_parse_age(str(age)) if age is not None else None,
        sex=SEX_SPELLINGS.get(str(sex).strip().lower()) if sex is not None else None,
    )
