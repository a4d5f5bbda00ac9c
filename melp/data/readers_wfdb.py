"""WFDB records (.hea + signal files): PTB-XL, MIMIC-IV-ECG and any format wfdb supports."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import wfdb

from melp.data.raw import RawEcg, check_duration, check_file_size, check_fs
from melp.record import EcgReadError

# bytes one sample takes in each uncompressed WFDB format (FLAC formats 5xx are not size-checked)
BYTES_PER_SAMPLE: dict[str, float] = {
    "8": 1, "16": 2, "61": 2, "80": 1, "160": 2, "212": 1.5, "24": 3, "32": 4, "310": 4 / 3, "311": 4 / 3,
}
SEX_SPELLINGS = {"male": "M", "m": "M", "female": "F", "f": "F"}
_SIGNAL_SPEC = re.compile(r"^(?P<fmt>\d+)(?:x(?P<spf>\d+))?(?::\d+)?(?:\+(?P<offset>\d+))?$")


@dataclass(frozen=True)
class HeaderSummary:
    """The few header facts needed to check a record before wfdb reads it."""

    n_sig: int
    fs: float | None
    sig_len: int | None
    files: dict[str, float]  # signal file name -> bytes per frame it holds
    offsets: dict[str, int]  # signal file name -> byte offset of the first sample
    multi_segment: bool


def _parse_signal_line(tokens: list[str], files: dict[str, float], offsets: dict[str, int]) -> None:
    match = _SIGNAL_SPEC.match(tokens[1]) if len(tokens) > 1 else None
    file_name = tokens[0]
    if match is None or match["fmt"] not in BYTES_PER_SAMPLE:
        files.setdefault(file_name, math.nan)  # unknown or compressed: existence is still checked
        return
    samples_per_frame = int(match["spf"] or 1)
    files[file_name] = files.get(file_name, 0.0) + samples_per_frame * BYTES_PER_SAMPLE[match["fmt"]]
    offsets[file_name] = int(match["offset"] or 0)


def summarise_header(hea_path: Path) -> HeaderSummary:
    """Parse the record line and the signal file names of a WFDB header."""
    try:
        lines = [line.strip() for line in hea_path.read_text(errors="replace").splitlines()]
    except OSError as exc:
        raise EcgReadError(f"{hea_path}: cannot open the header ({exc}); check the path and permissions") from exc
    lines = [line for line in lines if line and not line.startswith("#")]
    record = lines[0].split() if lines else []
    try:
        n_sig = int(record[1])
        fs = float(record[2].split("/")[0].split("(")[0]) if len(record) > 2 else None
        sig_len = int(record[3]) if len(record) > 3 else None
    except (IndexError, ValueError) as exc:
        raise EcgReadError(
            f"{hea_path}: record line {lines[0] if lines else ''!r}, expected 'name n_signals fs n_samples'; "
            "fix or regenerate the header (wfdb.wrsamp writes valid ones)"
        ) from exc
    files: dict[str, float] = {}
    offsets: dict[str, int] = {}
    multi_segment = "/" in record[0]
    if not multi_segment:
        for line in lines[1 : 1 + n_sig]:
            _parse_signal_line(line.split(), files, offsets)
    return HeaderSummary(n_sig, fs, sig_len, files, offsets, multi_segment)


def check_signal_files(hea_path: Path, summary: HeaderSummary) -> list[Path]:
    """Every signal file the header names exists and is long enough; returns their paths."""
    paths = []
    for name, bytes_per_frame in summary.files.items():
        path = hea_path.parent / name
        if not path.exists():
            raise EcgReadError(
                f"{hea_path}: signal file {name} not found next to the header, expected {path}; "
                "copy the signal file beside the .hea (keep the name the header gives)"
            )
        if summary.sig_len is not None and not math.isnan(bytes_per_frame):
            expected = summary.offsets.get(name, 0) + math.ceil(summary.sig_len * bytes_per_frame)
            found = path.stat().st_size
            if found < expected:
                raise EcgReadError(
                    f"{path}: {found} bytes, expected {expected} for {summary.sig_len} samples as the header "
                    "says; the signal file is truncated or belongs to another header: copy it again"
                )
        paths.append(path)
    return paths


def parse_comments(comments: list[str]) -> tuple[tuple[str, ...], float | None, str | None, dict[str, str]]:
    """Dx codes, age, sex and the other ``key: value`` comments of a challenge-style header."""
    codes: tuple[str, ...] = ()
    age: float | None = None
    sex: str | None = None
    extra: dict[str, str] = {}
    for comment in comments:
        key, sep, value = comment.lstrip("#").partition(":")
        if not sep:
            continue
        key, value = key.strip().lower(), value.strip()
        if key == "dx":
            codes = tuple(code.strip() for code in value.split(",") if code.strip())
        elif key == "age":
            age = _parse_age(value)
        elif key == "sex":
            sex = SEX_SPELLINGS.get(value.lower())
        else:
            extra[key] = value
    return codes, age, sex, extra


def _parse_age(value: str) -> float | None:
    try:
        age = float(value)
    except ValueError:
        return None
    return age if math.isfinite(age) and age >= 0 else None


def read_wfdb(hea_path: Path, max_seconds: float, max_bytes: int, summary: HeaderSummary | None = None) -> RawEcg:
    """Read a WFDB record given its header path (and its summary when already parsed)."""
    summary = summary or summarise_header(hea_path)
    if summary.fs is not None:  # wfdb silently turns a bad rate into its 250 Hz default
        check_fs(summary.fs, hea_path)
        if summary.sig_len is not None:
            check_duration(summary.sig_len, summary.fs, max_seconds, hea_path)
    signal_paths = check_signal_files(hea_path, summary)
    check_file_size([hea_path, *signal_paths], max_bytes, hea_path)
    try:
        record = wfdb.rdrecord(str(hea_path.with_suffix("")))
    except (ValueError, OSError, IndexError, TypeError) as exc:
        raise EcgReadError(
            f"{hea_path}: wfdb could not read the record ({type(exc).__name__}: {exc}), expected a header and "
            "signal files that agree; re-export the record or check that it was copied completely"
        ) from exc
    if record.p_signal is None:
        raise EcgReadError(f"{hea_path}: the header lists no signal, expected ECG channels; check the file")
    codes, age, sex, extra = parse_comments(list(record.comments or []))
    return RawEcg(
        signal=np.asarray(record.p_signal).T,  # (C, T)
        fs=float(record.fs) if record.fs is not None else None,
        names=tuple(record.sig_name or ()),
        units=tuple(unit or None for unit in (record.units or [None] * record.n_sig)),
        record_id=record.record_name,
        label_codes=codes,
        age=age,
        sex=sex,
        extra=extra,
    )
