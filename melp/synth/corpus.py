"""Write a synthetic corpus in the MIMIC-IV-ECG layout: WFDB records plus the CSV tables.

Records are produced in shards; a finished shard leaves a small JSON part file, so re-running the
same command skips finished work (resumable). Every record depends only on (seed, index), so the
bytes are identical whatever the number of workers. Tables are assembled from the part files at the
end and written atomically (melp.atomic: temp file, then rename).
"""
from __future__ import annotations

import csv
import datetime as dt
import json
import logging
import multiprocessing
from pathlib import Path
from typing import Mapping

import numpy as np
from tqdm import tqdm

from melp.atomic import replacing, write_bytes_atomic, write_text_atomic
from melp.synth.conditions import STATEMENTS, default_mix
from melp.synth.reports import MAX_REPORT_STATEMENTS
from melp.synth.simulate import GENERATOR_VERSION, SimulatedEcg, simulate_record, study_id

logger = logging.getLogger(__name__)

SUBJECT_ID_BASE = 10_000_000
ADC_GAIN = 1000.0  # digital units per mV (1 uV resolution)
ADC_LIMIT = 32767
FIRST_ECG_TIME = dt.datetime(2180, 1, 1)
SECONDS_BETWEEN_STUDIES = 997
P_ONSET_MS = 40  # machine_measurements fiducials are ms positions inside a representative complex
QRS_ONSET_NO_P_MS = 200
PARTS_DIR = "synth_parts"
DEFAULT_SHARD_SIZE = 250
REPORT_COLUMNS = [f"report_{k}" for k in range(MAX_REPORT_STATEMENTS)]
MEASUREMENT_COLUMNS = ["subject_id", "study_id", "ecg_time", *REPORT_COLUMNS, "rr_interval", "p_onset", "p_end",
                       "qrs_onset", "qrs_end", "t_end", "p_axis", "qrs_axis", "t_axis"]
RECORD_LIST_COLUMNS = ["subject_id", "study_id", "file_name", "ecg_time", "path"]
BEATS_CSV = "synth_beats.csv"  # ground-truth beats: study_id, samples and types (space-separated, record rate)
BEATS_COLUMNS = ["study_id", "samples", "types"]


def subject_id(index: int) -> int:
    return SUBJECT_ID_BASE + int(index)


def record_path(index: int) -> str:
    """Relative base path (no extension) of record ``index``: files/pNNNN/p{subject}/s{study}/{study}."""
    subject, study = subject_id(index), study_id(index)
    return f"files/p{str(subject)[:4]}/p{subject}/s{study}/{study}"


def _ecg_time(index: int) -> str:
    return (FIRST_ECG_TIME + dt.timedelta(seconds=SECONDS_BETWEEN_STUDIES * int(index))).strftime("%Y-%m-%d %H:%M:%S")


def _format_number(value: float) -> str:
    """Numbers as WFDB headers print them: integral floats without a decimal part."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _wfdb_bytes(name: str, signal_mv: np.ndarray, fs: float, leads: tuple[str, ...]) -> tuple[bytes, bytes]:
    """(header, data) of a format-16 WFDB record, byte-identical to ``wfdb.wrsamp`` with ADC_GAIN and
    baseline 0 (a test checks this); about ten times faster than wrsamp's generic field machinery."""
    clipped = np.clip(signal_mv.T.astype(np.float64), -ADC_LIMIT / ADC_GAIN, ADC_LIMIT / ADC_GAIN)  # (T, C)
    digital = np.round(clipped * ADC_GAIN).astype(np.int64)  # (T, C)
    checksums = digital.sum(axis=0) % 65536
    lines = [f"{name} {len(leads)} {_format_number(fs)} {digital.shape[0]}"]
    lines += [f"{name}.dat 16 {float(ADC_GAIN)!r}(0)/mV 16 0 {int(digital[0, k])} {int(checksums[k])} 0 {lead}"
              for k, lead in enumerate(leads)]
    return ("\n".join(lines) + "\n").encode("ascii"), digital.astype("<i2").tobytes()


def _write_wfdb(out_dir: Path, index: int, ecg: SimulatedEcg) -> None:
    """Write one record; each file appears only when complete (melp.atomic: temp file, then rename)."""
    base = out_dir / record_path(index)
    base.parent.mkdir(parents=True, exist_ok=True)
    header, data = _wfdb_bytes(base.name, ecg.record.signal, ecg.record.fs, ecg.record.leads)
    for suffix, content in ((".dat", data), (".hea", header)):  # header last: it marks the record done
        write_bytes_atomic(base.with_suffix(suffix), content)


def _is_written(out_dir: Path, index: int) -> bool:
    base = out_dir / record_path(index)
    return base.with_suffix(".hea").exists() and base.with_suffix(".dat").exists()


def _fmt(value: float | None) -> str:
    return "" if value is None else str(int(round(value)))


def _rows(index: int, ecg: SimulatedEcg) -> dict[str, dict[str, str]]:
    """The CSV rows of one record: record_list, machine_measurements and labels."""
    subject, study, time = subject_id(index), study_id(index), _ecg_time(index)
    iv = ecg.intervals
    qrs_onset = P_ONSET_MS + iv["pr"] if iv["pr"] is not None else QRS_ONSET_NO_P_MS
    sentences = list(ecg.report_sentences) + [""] * (MAX_REPORT_STATEMENTS - len(ecg.report_sentences))
    measurements = {"subject_id": str(subject), "study_id": str(study), "ecg_time": time,
                    **dict(zip(REPORT_COLUMNS, sentences)),
                    "rr_interval": _fmt(iv["rr"]),
                    "p_onset": _fmt(P_ONSET_MS if iv["pr"] is not None else None),
                    "p_end": _fmt(P_ONSET_MS + iv["p_duration"] if iv["p_duration"] is not None else None),
                    "qrs_onset": _fmt(qrs_onset), "qrs_end": _fmt(qrs_onset + iv["qrs"]),
                    "t_end": _fmt(qrs_onset + iv["qt"]), "p_axis": _fmt(ecg.p_axis),
                    "qrs_axis": _fmt(ecg.axis), "t_axis": _fmt(ecg.t_axis)}
    record_list = {"subject_id": str(subject), "study_id": str(study), "file_name": str(study), "ecg_time": time,
                   "path": record_path(index)}
    labels = {"study_id": str(study), **{s: str(int(v)) for s, v in zip(STATEMENTS, ecg.labels)}}
    beats = {"study_id": str(study), "samples": " ".join(str(int(v)) for v in ecg.beat_table["sample"]),
             "types": " ".join(str(v) for v in ecg.beat_table["type"])}
    return {"record_list": record_list, "measurements": measurements, "labels": labels, "beats": beats}


def _write_shard(job: tuple[str, int, int, int, float, float, dict | None]) -> tuple[int, list[dict]]:
    """Simulate and write records [start, stop); returns (start, rows) for the part file."""
    out_dir, seed, start, stop, fs, seconds, mix = job
    rows = []
    for index in range(start, stop):
        ecg = simulate_record(seed, index, fs=fs, seconds=seconds, mix=mix)
        if not _is_written(Path(out_dir), index):
            _write_wfdb(Path(out_dir), index, ecg)
        rows.append(_rows(index, ecg))
    return start, rows


def _atomic_write_csv(path: Path, columns: list[str], rows: list[dict[str, str]]) -> None:
    with replacing(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def _check_settings(out_dir: Path, settings: dict) -> None:
    """Refuse to resume into a folder written with different settings."""
    path = out_dir / PARTS_DIR / "settings.json"
    if path.exists():
        found = json.loads(path.read_text(encoding="utf-8"))
        if found != settings:
            raise ValueError(f"{path}: corpus was started with {found}, now asked for {settings}; "
                             "use a new --out folder or the original settings")
    else:
        write_text_atomic(path, json.dumps(settings, sort_keys=True))


def write_corpus(out_dir: str | Path, n: int, seed: int = 0, fs: float = 500, seconds: float = 10,
                 workers: int = 1, mix: Mapping[str, float] | None = None,
                 shard_size: int = DEFAULT_SHARD_SIZE) -> Path:
    """Write (or finish writing) ``n`` records to ``out_dir``; returns the manifest path."""
    if n < 1 or workers < 1 or shard_size < 1:
        raise ValueError(f"n={n}, workers={workers}, shard_size={shard_size}; all must be >= 1")
    out_dir = Path(out_dir)
    (out_dir / PARTS_DIR).mkdir(parents=True, exist_ok=True)
    mix = dict(mix) if mix else None
    settings = {"generator_version": GENERATOR_VERSION, "seed": int(seed), "fs": float(fs), "seconds": float(seconds),
                "mix": mix,
                "shard_size": shard_size}
    _check_settings(out_dir, settings)
    shards = [(start, min(start + shard_size, n)) for start in range(0, n, shard_size)]
    pending = [(str(out_dir), seed, a, b, fs, seconds, mix) for a, b in shards
               if not _part_path(out_dir, a, b).exists()]
    logger.info("%d of %d shards to write in %s", len(pending), len(shards), out_dir)
    with tqdm(total=sum(job[3] - job[2] for job in pending), desc="synth corpus", unit="rec") as bar:
        if workers == 1:
            results = map(_write_shard, pending)
            _collect(out_dir, results, bar)
        else:
            with multiprocessing.get_context().Pool(workers) as pool:
                _collect(out_dir, pool.imap_unordered(_write_shard, pending), bar)
    return _assemble(out_dir, shards, settings, n)


def _part_path(out_dir: Path, start: int, stop: int) -> Path:
    return out_dir / PARTS_DIR / f"part-{start:09d}-{stop:09d}.json"


def _collect(out_dir: Path, results, bar: tqdm) -> None:
    for start, rows in results:
        stop = start + len(rows)
        write_text_atomic(_part_path(out_dir, start, stop), json.dumps(rows))
        bar.update(len(rows))


def _assemble(out_dir: Path, shards: list[tuple[int, int]], settings: dict, n: int) -> Path:
    """Concatenate part files (in index order) into the corpus tables and the manifest."""
    rows = []
    for start, stop in shards:
        rows += json.loads(_part_path(out_dir, start, stop).read_text(encoding="utf-8"))
    _atomic_write_csv(out_dir / "record_list.csv", RECORD_LIST_COLUMNS, [r["record_list"] for r in rows])
    _atomic_write_csv(out_dir / "machine_measurements.csv", MEASUREMENT_COLUMNS, [r["measurements"] for r in rows])
    _atomic_write_csv(out_dir / "synth_labels.csv", ["study_id", *STATEMENTS], [r["labels"] for r in rows])
    _atomic_write_csv(out_dir / BEATS_CSV, BEATS_COLUMNS, [r["beats"] for r in rows])
    manifest = {**settings, "n": n, "mix": {**default_mix(), **(settings["mix"] or {})}, "statements": list(STATEMENTS),
                "custom_mix": settings["mix"] is not None,
                "studies": {r["record_list"]["study_id"]: i for i, r in enumerate(rows)}}
    path = out_dir / "synth_manifest.json"
    write_text_atomic(path, json.dumps(manifest, indent=1))
    logger.info("wrote %d records and tables to %s", n, out_dir)
    return path
