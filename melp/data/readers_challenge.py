"""MATLAB-file ECGs: the PhysioNet/CinC challenge layout (.mat ``val`` + .hea) and original CPSC2018."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import scipy.io
from scipy.io.matlab import MatReadError

from melp.data.matfile import bad_element
from melp.data.raw import RawEcg, check_duration, check_file_size
from melp.data.readers_wfdb import SEX_SPELLINGS, HeaderSummary, _parse_age, parse_comments, summarise_header
from melp.record import STANDARD_LEADS, EcgReadError

CHALLENGE_VARIABLE = "val"  # (C, T) digital values in the challenge .mat files
CPSC2018_STRUCT = "ECG"  # original CPSC2018: struct with fields data (12, T) mV, sex, age
CPSC2018_FS = 500.0  # every original CPSC2018 record is sampled at 500 Hz
CPSC2018_UNITS = "mV"


def _load_mat(mat_path: Path, variable: str) -> dict:
    try:
        blob = mat_path.read_bytes()
        problem = bad_element(blob)  # scipy's compiled reader crashes the process on these (melp.data.matfile)
        if problem:
            raise MatReadError(problem)
        return scipy.io.loadmat(io.BytesIO(blob), variable_names=[variable])
    except (ValueError, OSError, TypeError, NotImplementedError, MatReadError) as exc:
        raise EcgReadError(
            f"{mat_path}: not a readable MATLAB file ({type(exc).__name__}: {exc}), expected a .mat holding "
            f"'{variable}'; re-export it (MATLAB v4-v7.2 format, not v7.3/HDF5)"
        ) from exc


def read_challenge(hea_path: Path, mat_path: Path, max_seconds: float, max_bytes: int,
                   summary: HeaderSummary | None = None) -> RawEcg:
    """A challenge record: ``val`` (C, T) from the .mat, gains, units, names and Dx/Age/Sex from the .hea.

    The header is parsed by ``summarise_header`` (not wfdb): challenge headers as distributed name their
    record with its extension ("E00015.mat 12 500 5000"), which wfdb's parser rejects.
    """
    summary = summary or summarise_header(hea_path)
    check_file_size([hea_path, mat_path], max_bytes, hea_path)
    if summary.fs is not None and summary.fs > 0 and summary.sig_len:
        check_duration(summary.sig_len, summary.fs, max_seconds, hea_path)
    if not mat_path.is_file():
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
    digital = np.atleast_2d(np.asarray(digital))
    if digital.dtype.kind not in "biuf":
        raise EcgReadError(f"{mat_path}: 'val' holds {digital.dtype} values, expected numbers (digital samples); "
                           "re-export the record")
    digital = digital.astype(np.float64)  # (C, T)
    if digital.shape != (summary.n_sig, summary.sig_len):
        raise EcgReadError(
            f"{mat_path}: 'val' has shape {digital.shape}, expected ({summary.n_sig}, {summary.sig_len}) as "
            f"{hea_path.name} says; the .mat and .hea do not belong together: copy the matching pair"
        )
    gains = np.array([spec.gain for spec in summary.signals], dtype=np.float64)  # (C,)
    baselines = np.array([spec.baseline or 0 for spec in summary.signals], dtype=np.float64)  # (C,)
    comments = parse_comments(list(summary.comments))
    return RawEcg(
        signal=(digital - baselines[:, None]) / gains[:, None],
        fs=summary.fs,
        names=tuple(spec.name for spec in summary.signals),
        units=tuple(spec.units for spec in summary.signals),
        record_id=summary.record_name,
        **comments.raw_fields(),
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
