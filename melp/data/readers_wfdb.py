"""WFDB records (.hea + signal files): PTB-XL, MIMIC-IV-ECG and any format wfdb supports."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import wfdb

from melp.data.raw import ANY_RATE, RawEcg, check_duration, check_file_size, check_fs
from melp.record import EcgReadError

# bytes one sample takes in each uncompressed WFDB format (FLAC formats 5xx are not size-checked)
BYTES_PER_SAMPLE: dict[str, float] = {
    "8": 1, "16": 2, "61": 2, "80": 1, "160": 2, "212": 1.5, "24": 3, "32": 4, "310": 4 / 3, "311": 4 / 3,
}
SEX_SPELLINGS = {"male": "M", "m": "M", "female": "F", "f": "F"}
MAX_SIGNALS = 256  # more channels than any ECG (or polysomnography) device records
DEFAULT_GAIN = 200.0  # WFDB: ADC units per physical unit when a header gives none
_SIGNAL_SPEC = re.compile(r"^(?P<fmt>\d+)(?:x(?P<spf>\d+))?(?::\d+)?(?:\+(?P<offset>\d+))?$")
_GAIN_SPEC = re.compile(r"^(?P<gain>[^(/]*)(?:\((?P<baseline>[^)]*)\))?(?:/(?P<units>.*))?$")
RECORD_EXTENSIONS = (".mat", ".dat", ".hea")  # CinC 2020 headers name their record "E00015.mat"


@dataclass(frozen=True)
class SignalSpec:
    """One signal line of a header: file, gain (ADC units per physical unit), baseline, units, name."""

    file: str
    gain: float
    baseline: int | None
    units: str | None
    name: str


@dataclass(frozen=True)
class HeaderSummary:
    """The header facts needed to check a record before anything reads its signals."""

    record_name: str
    n_sig: int
    fs: float | None
    sig_len: int | None
    files: dict[str, float]  # signal file name -> bytes per frame it holds
    offsets: dict[str, int]  # signal file name -> byte offset of the first sample
    multi_segment: bool
    signals: tuple[SignalSpec, ...] = ()
    comments: tuple[str, ...] = ()


def _parse_signal_line(tokens: list[str], files: dict[str, float], offsets: dict[str, int]) -> None:
    match = _SIGNAL_SPEC.match(tokens[1]) if len(tokens) > 1 else None
    file_name = tokens[0]
    if match is None or match["fmt"] not in BYTES_PER_SAMPLE:
        files.setdefault(file_name, math.nan)  # unknown or compressed: existence is still checked
        return
    samples_per_frame = int(match["spf"] or 1)
    files[file_name] = files.get(file_name, 0.0) + samples_per_frame * BYTES_PER_SAMPLE[match["fmt"]]
    offsets[file_name] = int(match["offset"] or 0)


def _refuse_unsafe_name(name: str, what: str, hea_path: Path) -> None:
    """A header may name only plain ASCII files beside it: no folders, no '..', no absolute paths."""
    if not name.isascii():
        raise EcgReadError(f"{hea_path}: {what} {name!r} is not plain ASCII, expected names WFDB can open; rename "
                           "the files and the names inside the header to ASCII")
    if "/" in name or "\\" in name or name in (".", "..") or ":" in name:
        raise EcgReadError(f"{hea_path}: {what} {name!r} points outside the header's own folder, expected a file "
                           "beside the header; a header may only name files in its own folder")


def _signal_spec(tokens: list[str], hea_path: Path, line_number: int) -> SignalSpec:
    """The gain, baseline, units and name of one signal line (WFDB's field order), checked."""
    match = _GAIN_SPEC.match(tokens[2]) if len(tokens) > 2 else None
    gain_text = match["gain"] if match else ""
    try:
        gain = float(gain_text) if gain_text else DEFAULT_GAIN
    except ValueError:
        gain = math.nan
    if not math.isfinite(gain) or gain <= 0:
        raise EcgReadError(
            f"{hea_path}: signal line {line_number} gives ADC gain {tokens[2]!r}, expected a positive number of ADC "
            "units per physical unit (e.g. '1000/mV'); a zero or missing-number gain would scale the signal wrongly: "
            "fix the header with the device's gain"
        )
    baseline_text = match["baseline"] if match else None
    try:
        baseline = int(baseline_text) if baseline_text not in (None, "") else None
    except ValueError as exc:
        raise EcgReadError(f"{hea_path}: signal line {line_number} gives baseline {baseline_text!r}, expected an "
                           "integer; fix the header") from exc
    name = " ".join(tokens[8:]) if len(tokens) > 8 else f"signal {line_number}"
    return SignalSpec(tokens[0], gain, baseline, (match["units"] or None) if match else None, name)


def summarise_header(hea_path: Path) -> HeaderSummary:
    """Parse and check the record line and signal lines of a WFDB header (names, counts, gains)."""
    try:
        all_lines = [line.strip() for line in hea_path.read_text(errors="replace").splitlines()]
    except OSError as exc:
        raise EcgReadError(f"{hea_path}: cannot open the header ({exc}); check the path and permissions") from exc
    comments = tuple(line for line in all_lines if line.startswith("#"))
    lines = [line for line in all_lines if line and not line.startswith("#")]
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
    record_name = record[0].split("/")[0]
    for extension in RECORD_EXTENSIONS:
        record_name = record_name.removesuffix(extension)
    _refuse_unsafe_name(record_name, "record name", hea_path)
    if not 1 <= n_sig <= MAX_SIGNALS or (sig_len is not None and sig_len < 0):
        raise EcgReadError(f"{hea_path}: record line says {n_sig} signals of {sig_len} samples, expected 1-"
                           f"{MAX_SIGNALS} signals and a sample count >= 0; fix the header")
    files: dict[str, float] = {}
    offsets: dict[str, int] = {}
    multi_segment = "/" in record[0]
    specs: list[SignalSpec] = []
    if not multi_segment:
        signal_lines = lines[1 : 1 + n_sig]
        if len(signal_lines) != n_sig:
            raise EcgReadError(f"{hea_path}: record line says {n_sig} signals, the header lists {len(signal_lines)} "
                               "signal lines, expected one per signal; fix the count or the lines")
        for number, line in enumerate(signal_lines, start=1):
            tokens = line.split()
            _refuse_unsafe_name(tokens[0], "signal file", hea_path)
            _parse_signal_line(tokens, files, offsets)
            specs.append(_signal_spec(tokens, hea_path, number))
    return HeaderSummary(record_name, n_sig, fs, sig_len, files, offsets, multi_segment, tuple(specs), comments)


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


@dataclass(frozen=True)
class HeaderComments:
    """What a header's comments say: Dx codes, age, sex, other ``key: value`` facts, written diagnoses."""

    codes: tuple[str, ...] = ()
    age: float | None = None
    sex: str | None = None
    extra: dict[str, str] | None = None
    diagnoses: tuple[str, ...] = ()  # LUDB's "<diagnoses>:" block, one statement per comment line

    def raw_fields(self) -> dict:
        """The RawEcg fields these comments fill."""
        return dict(label_codes=self.codes, age=self.age, sex=self.sex, extra=self.extra or {},
                    diagnoses=self.diagnoses)


def parse_comments(comments: list[str]) -> HeaderComments:
    """Dx codes, age, sex and the other ``key: value`` comments of a challenge-style header; LUDB's
    ``<age>``, ``<sex>`` and the diagnosis lines after ``<diagnoses>:`` too."""
    codes: tuple[str, ...] = ()
    age: float | None = None
    sex: str | None = None
    extra: dict[str, str] = {}
    diagnoses: list[str] = []
    in_diagnoses = False
    for comment in comments:
        text = comment.lstrip("#").strip()
        key, sep, value = text.partition(":")
        bracketed = key.strip().startswith("<") and key.strip().endswith(">")
        if in_diagnoses and not bracketed:
            if text:
                diagnoses.append(text.rstrip("."))
            continue
        if not sep:
            continue
        key, value = key.strip().strip("<>").strip().lower(), value.strip()
        in_diagnoses = key == "diagnoses"
        if in_diagnoses:
            diagnoses += [value.rstrip(".")] if value else []
        elif key == "dx":
            codes = tuple(code.strip() for code in value.split(",") if code.strip())
        elif key == "age":
            age = _parse_age(value)
        elif key == "sex":
            sex = SEX_SPELLINGS.get(value.lower())
        else:
            extra[key] = value
    return HeaderComments(codes, age, sex, extra, tuple(diagnoses))


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
        check_fs(summary.fs, hea_path, ANY_RATE)
        if summary.sig_len is not None:
            check_duration(summary.sig_len, summary.fs, max_seconds, hea_path)
    signal_paths = check_signal_files(hea_path, summary)
    check_file_size([hea_path, *signal_paths], max_bytes, hea_path)
    if summary.record_name != hea_path.stem:
        raise EcgReadError(f"{hea_path}: the header names its record {summary.record_name!r}, expected "
                           f"{hea_path.stem!r} (the file name); rename the files or fix the record line")
    try:
        record = wfdb.rdrecord(str(hea_path.with_suffix("")))
    except (ValueError, OSError, IndexError, TypeError) as exc:
        raise EcgReadError(
            f"{hea_path}: wfdb could not read the record ({type(exc).__name__}: {exc}), expected a header and "
            "signal files that agree; re-export the record or check that it was copied completely"
        ) from exc
    if record.p_signal is None:
        raise EcgReadError(f"{hea_path}: the header lists no signal, expected ECG channels; check the file")
    comments = parse_comments(list(record.comments or []))
    return RawEcg(
        signal=np.asarray(record.p_signal).T,  # (C, T)
        fs=float(record.fs) if record.fs is not None else None,
        names=tuple(record.sig_name or ()),
        units=tuple(unit or None for unit in (record.units or [None] * record.n_sig)),
        record_id=record.record_name,
        **comments.raw_fields(),
    )
