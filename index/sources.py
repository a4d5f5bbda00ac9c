"""Where a library's records come from: ``--source KIND:LOCATION`` -> an ordered list of loadable entries.

Kinds:
    folder:DIR        every readable ECG file under DIR (``melp.read_ecg``; unreadable files are skipped)
    challenge:ROOT    every ``.hea`` under a PhysioNet/CinC challenge folder (labels from the headers)
    ptbxl:ROOT        every PTB-XL record (report, age, sex, scp codes from ptbxl_database.csv)
    ptbxl-train:ROOT:N  N PTB-XL records of the training folds (1-8), evenly spaced, with their English
                      text; the library keeps a compact display copy of each waveform (index.display_signals)
                      so it can be shared without PTB-XL
    mimic:ROOT        every MIMIC-IV-ECG study kept by ``melp.datasets.MimicDataset``
    synth:DIR         a synthetic corpus written by ``melp.synth`` (MIMIC layout + synth_manifest.json),
                      whose records can be regenerated from (seed, index)
    simulated:SEED:N  N records simulated on the fly by ``melp.synth.simulate_record(SEED, i)``; no files
Several specs joined by ";" are read in turn.
Every ECG is read by ``melp.read_ecg`` (through the ``melp.datasets`` readers where one exists); metadata
tables are read by those readers too, never parsed a second time here.
"""
from __future__ import annotations

import ast
import json
import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

import melp
from melp.record import EcgRecord

logger = logging.getLogger(__name__)

ECG_SUFFIXES = (".hea", ".mat", ".csv", ".npy", ".npz")
SYNTH_MANIFEST = "synth_manifest.json"
PTBXL_FILE_COLUMN = "filename_hr"  # 500 Hz records
PTBXL_SEX = {0: "M", 1: "F"}  # ptbxl_database.csv codes sex as 0 = male, 1 = female
SIMULATED_FS = 500  # simulate() regenerates at melp.synth's default rate and length
SIMULATED_SECONDS = 10
SOURCE_KINDS = ("folder", "challenge", "ptbxl", "ptbxl-train", "mimic", "synth", "simulated")
REAL, SIMULATED, REAL_PTBXL = "real", "simulated", "real (PTB-XL)"  # the origin a library row reports


@dataclass(frozen=True)
class SourceEntry:
    """One record of a source: how to load it, and where it can be found again later."""

    load: Callable[[], EcgRecord]
    source_path: str | None  # file melp.read_ecg reads; None: simulated, kept, or the record's own ``source``
    synth_seed: int | None = None
    synth_index: int | None = None
    origin: str = REAL  # "real", "simulated" or "real (PTB-XL)": what the app says about the row
    keep_signal: bool = False  # the library stores a display copy of the waveform (no path is kept)


def _folder_files(root: Path) -> list[Path]:
    """ECG files under ``root``: each WFDB/challenge record once (by its .hea), plus lone .mat/.csv/.npy/.npz."""
    files = []
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.suffix.lower() not in ECG_SUFFIXES:
            continue
        if path.suffix.lower() == ".mat" and path.with_suffix(".hea").exists():
            continue  # read through its header
        files.append(path)
    return files


def _read_file(path: Path) -> Callable[[], EcgRecord]:
    return lambda: melp.read_ecg(path)


def folder_entries(root: Path, suffixes: tuple[str, ...] = ECG_SUFFIXES) -> list[SourceEntry]:
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: not a folder; expected a folder of ECG files ({', '.join(suffixes)})")
    return [
        SourceEntry(_read_file(path), str(path))
        for path in _folder_files(root)
        if path.suffix.lower() in suffixes
    ]


def _ptbxl_loader(path: Path, ecg_id: int, report: str, labels: tuple[str, ...], age: float | None,
                  sex: str | None) -> Callable[[], EcgRecord]:
    def load() -> EcgRecord:
        record = melp.read_ecg(path)
        return replace(record, record_id=f"ptbxl-{ecg_id}", report=report, labels=labels, age=age, sex=sex)

    return load


def ptbxl_entries(root: Path) -> list[SourceEntry]:
    from melp.datasets.ptbxl import read_tables
    from melp.datasets.text import normalise_report

    database, _ = read_tables(root)
    entries = []
    for ecg_id, row in database.sort_index().iterrows():
        path = root / str(row[PTBXL_FILE_COLUMN])
        labels = tuple(ast.literal_eval(row["scp_codes"]))  # literal dict text, never executed
        age = float(row["age"]) if pd.notna(row.get("age")) else None
        report = normalise_report(str(row.get("report", "") or ""))
        loader = _ptbxl_loader(path, int(ecg_id), report, labels, age, PTBXL_SEX.get(row.get("sex")))
        entries.append(SourceEntry(loader, str(path)))
    return entries


def ptbxl_train_entries(root: Path, n_records: int) -> list[SourceEntry]:
    """``n_records`` evenly spaced records of PTB-XL's training folds, with English text and label codes."""
    from melp.datasets.ptbxl import PtbxlReportsDataset

    dataset = PtbxlReportsDataset(root, "train", melp.PreprocessConfig(fs=100.0))
    positions = np.unique(np.linspace(0, len(dataset) - 1, min(n_records, len(dataset))).round().astype(int))
    names = dataset.label_names

    def loader(position: int) -> Callable[[], EcgRecord]:
        def load() -> EcgRecord:
            record = dataset.read_record(position)
            labels = tuple(dict.fromkeys(name.split(":", 1)[1] for name, on in zip(names, dataset.labels(position)) if on))
            return replace(record, labels=labels, source=None)

        return load

    return [SourceEntry(loader(int(p)), None, origin=REAL_PTBXL, keep_signal=True) for p in positions]


def _dataset_loader(dataset, position: int) -> Callable[[], EcgRecord]:
    names = dataset.label_names

    def load() -> EcgRecord:
        record = dataset.read_record(position)
        labels = tuple(name for name, on in zip(names, dataset.labels(position)) if on > 0)
        return replace(record, labels=labels)

    return load


def _synth_seeds(root: Path) -> tuple[int | None, dict[str, int]]:
    """(corpus seed, study id -> simulator index) from synth_manifest.json; (None, {}) when the corpus was
    written with settings ``simulate`` does not reproduce (custom mix, rate or length)."""
    path = root / SYNTH_MANIFEST
    if not path.is_file():
        raise FileNotFoundError(f"{path}: not found; expected a corpus written by python -m melp.synth "
                                "(or open a real MIMIC-IV-ECG folder with --source mimic:ROOT)")
    manifest = json.loads(path.read_text())
    settings = (manifest["fs"], manifest["seconds"], manifest["custom_mix"])
    if settings != (SIMULATED_FS, SIMULATED_SECONDS, False):
        logger.info("%s: fs/seconds/custom mix %s differ from the defaults; rows keep only their file path", path,
                    settings)
        return None, {}
    return int(manifest["seed"]), {str(study): int(index) for study, index in manifest["studies"].items()}


def mimic_entries(root: Path, name: str) -> list[SourceEntry]:
    from melp.datasets.mimic import MimicDataset

    dataset = MimicDataset(root, "all", name=name)
    seed, study_index = _synth_seeds(root) if name == "synth" else (None, {})
    if not study_index:
        seed = None
    entries = []
    for position in range(len(dataset)):
        index = study_index.get(dataset.record_id(position))
        # the path is known once read: rows take ``EcgRecord.source`` when an entry has no path
        entries.append(SourceEntry(_dataset_loader(dataset, position), None, seed, index))
    return entries


def simulate(seed: int, index: int) -> EcgRecord:
    """The corpus record (seed, index), regenerated."""
    from melp.synth import simulate_record

    return simulate_record(seed, index, fs=SIMULATED_FS, seconds=SIMULATED_SECONDS).record


def simulated_entries(seed: int, n_records: int) -> list[SourceEntry]:
    return [SourceEntry(lambda i=i: simulate(seed, i), None, seed, i, origin=SIMULATED) for i in range(n_records)]


def parse_source(spec: str) -> list[SourceEntry]:
    """The entries of a ``--source`` spec (or of several joined by ";"), in a fixed order (the order
    rows get in the library)."""
    if ";" in spec:
        return [entry for part in spec.split(";") if part.strip() for entry in parse_source(part.strip())]
    kind, _, location = spec.partition(":")
    if kind not in SOURCE_KINDS or not location:
        raise ValueError(f"--source {spec!r}: expected KIND:LOCATION with KIND one of {SOURCE_KINDS}, "
                         "e.g. folder:path/to/ecgs or simulated:7:3000")
    if kind == "simulated":
        seed, _, count = location.partition(":")
        if not (seed.isdigit() and count.isdigit()):
            raise ValueError(f"--source {spec!r}: expected simulated:SEED:N with two integers")
        return simulated_entries(int(seed), int(count))
    if kind == "ptbxl-train":
        folder, _, count = location.rpartition(":")
        if not (folder and count.isdigit()):
            raise ValueError(f"--source {spec!r}: expected ptbxl-train:ROOT:N with N an integer")
        root = Path(folder).expanduser().resolve()
        if not root.exists():
            raise FileNotFoundError(f"--source {spec!r}: {root} does not exist; check the path")
        return ptbxl_train_entries(root, int(count))
    root = Path(location).expanduser().resolve()  # rows keep absolute paths, valid from any working folder
    if not root.exists():
        raise FileNotFoundError(f"--source {spec!r}: {root} does not exist; check the path")
    if kind == "folder":
        return folder_entries(root)
    if kind == "challenge":
        return folder_entries(root, (".hea",))
    if kind == "ptbxl":
        return ptbxl_entries(root)
    entries = mimic_entries(root, kind)
    return [replace(entry, origin=SIMULATED) for entry in entries] if kind == "synth" else entries
