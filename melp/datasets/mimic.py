"""MIMIC-IV-ECG (record_list.csv + machine_measurements.csv + files/...) and the synthetic corpus,
which uses the same layout plus ``synth_labels.csv`` (study_id + one 0/1 column per statement).

Reports are report_0..report_17 joined with ". " and normalised (``normalise_report``); studies whose
report has fewer than ``MIN_REPORT_TOKENS`` word tokens are dropped here, and records whose signal is
NaN, empty or flat raise ``RecordRejected`` when read (the array store skips them). The train/val/test
split is by subject: a hash of subject_id puts every study of a subject in the same split.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import melp
from melp.datasets.base import EcgTextDataset, check_split
from melp.datasets.text import MIN_REPORT_TOKENS, count_report_tokens, join_report_lines
from melp.record import EcgRecord

logger = logging.getLogger(__name__)

RECORD_LIST_CSV = "record_list.csv"
MEASUREMENTS_CSV = "machine_measurements.csv"
SYNTH_LABELS_CSV = "synth_labels.csv"
SYNTH_BEATS_CSV = "synth_beats.csv"  # melp.synth.corpus.BEATS_CSV; corpora written before it have none
REPORT_COLUMNS = tuple(f"report_{k}" for k in range(18))
MIMIC_SPLITS = ("train", "val", "test", "all")
DEFAULT_VAL_FRACTION = 0.05
DEFAULT_TEST_FRACTION = 0.0
_HASH_BUCKETS = 1_000_000


def subject_fraction(subject_id: object) -> float:
    """A stable pseudo-random number in [0, 1) per subject (sha256 of its id)."""
    digest = hashlib.sha256(str(subject_id).encode()).digest()
    return (int.from_bytes(digest[:8], "big") % _HASH_BUCKETS) / _HASH_BUCKETS


def subject_split(subject_id: object, val_fraction: float, test_fraction: float) -> str:
    """'test' | 'val' | 'train' for one subject; all studies of a subject land together."""
    position = subject_fraction(subject_id)
    if position < test_fraction:
        return "test"
    return "val" if position < test_fraction + val_fraction else "train"


def _read_csv(path: Path, required: tuple[str, ...]) -> pd.DataFrame:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: not found; expected a MIMIC-IV-ECG style folder with "
                                f"{RECORD_LIST_CSV} and {MEASUREMENTS_CSV}")
    table = pd.read_csv(path, low_memory=False)
    missing = [column for column in required if column not in table.columns]
    if missing:
        raise ValueError(f"{path}: columns {missing} missing, expected at least {list(required)}")
    return table


def load_studies(root: Path) -> pd.DataFrame:
    """One row per study: subject_id, study_id, path, report (normalised), n_tokens."""
    records = _read_csv(root / RECORD_LIST_CSV, ("subject_id", "study_id", "path"))
    measurements = _read_csv(root / MEASUREMENTS_CSV, ("study_id",))
    report_columns = [column for column in REPORT_COLUMNS if column in measurements.columns]
    if not report_columns:
        raise ValueError(f"{root / MEASUREMENTS_CSV}: no report_0..report_17 columns; expected the reports there")
    reports = measurements[["study_id", *report_columns]].drop_duplicates("study_id")
    reports = reports.assign(report=[join_report_lines(row) for row in reports[report_columns].itertuples(index=False)])
    studies = records[["subject_id", "study_id", "path"]].merge(reports[["study_id", "report"]], on="study_id", how="left")
    studies["report"] = studies["report"].fillna("")
    studies["n_tokens"] = studies["report"].map(count_report_tokens)
    return studies


def load_synth_labels(root: Path) -> tuple[tuple[str, ...], pd.DataFrame]:
    """(statement names in file order, table indexed by study_id) from synth_labels.csv."""
    path = root / SYNTH_LABELS_CSV
    if not path.is_file():
        raise FileNotFoundError(f"{path}: not found; the synthetic corpus writer (melp.synth) creates it next "
                                f"to {RECORD_LIST_CSV}; regenerate the corpus or open it as 'mimic'")
    table = pd.read_csv(path).set_index("study_id")
    return tuple(str(column) for column in table.columns), table


class MimicDataset(EcgTextDataset):
    """One subject-level split of a MIMIC-IV-ECG style folder (``name="synth"`` also loads the labels)."""

    def __init__(self, root: str | Path, split: str = "train", preprocess_config: Any = None,
                 name: str = "mimic", val_fraction: float = DEFAULT_VAL_FRACTION,
                 test_fraction: float = DEFAULT_TEST_FRACTION) -> None:
        super().__init__(preprocess_config)
        self.root = Path(root)
        self.name = name
        self.split = check_split(split, MIMIC_SPLITS, name)
        if not (0 <= val_fraction and 0 <= test_fraction and val_fraction + test_fraction < 1):
            raise ValueError(f"{name}: val_fraction {val_fraction} + test_fraction {test_fraction} must lie in [0, 1)")
        studies = load_studies(self.root)
        short = studies["n_tokens"] < MIN_REPORT_TOKENS
        if short.any():
            logger.info("%s: dropping %d studies with reports under %d tokens", name, int(short.sum()), MIN_REPORT_TOKENS)
        studies = studies[~short]
        if split != "all":
            chosen = studies["subject_id"].map(lambda subject: subject_split(subject, val_fraction, test_fraction))
            studies = studies[chosen == split]
        self._studies = studies.reset_index(drop=True)
        self._labels = self._load_labels()
        self._beats = self._load_beats()
        logger.info("%s/%s: %d studies from %d subjects", name, split, len(self._studies),
                    self._studies["subject_id"].nunique())

    def _load_labels(self) -> np.ndarray:
        """(N, K) float32; K = 0 for real MIMIC-IV-ECG, the statements for the synthetic corpus."""
        if self.name != "synth":
            return np.zeros((len(self._studies), 0), np.float32)
        self.label_names, table = load_synth_labels(self.root)
        missing = sorted(set(self._studies["study_id"]) - set(table.index))
        if missing:
            raise ValueError(f"{self.root / SYNTH_LABELS_CSV}: no labels for studies {missing[:5]} "
                             f"({len(missing)} in all); expected one row per study in {RECORD_LIST_CSV}")
        return table.loc[self._studies["study_id"]].to_numpy(np.float32)

    def _load_beats(self) -> dict[int, tuple[np.ndarray, tuple[str, ...]]]:
        """study_id -> (ground-truth beat samples at the record rate, kinds) from synth_beats.csv, if present."""
        path = self.root / SYNTH_BEATS_CSV
        if self.name != "synth" or not path.is_file():
            return {}
        table = pd.read_csv(path, dtype={"samples": str, "types": str}, keep_default_na=False)
        return {int(row.study_id): (np.array(row.samples.split(), dtype=np.int64), tuple(row.types.split()))
                for row in table.itertuples(index=False)}

    def heartbeat_table(self, index: int) -> tuple[np.ndarray, tuple[str, ...]] | None:
        return self._beats.get(int(self._studies.at[index, "study_id"]))

    def __len__(self) -> int:
        return len(self._studies)

    def record_id(self, index: int) -> str:
        return str(self._studies.at[index, "study_id"])

    def subject_id(self, index: int) -> str:
        return str(self._studies.at[index, "subject_id"])

    def report(self, index: int) -> str:
        return str(self._studies.at[index, "report"])

    def labels(self, index: int) -> np.ndarray:
        return self._labels[index]

    def label_matrix(self) -> np.ndarray:
        return self._labels.copy()

    def read_record(self, index: int) -> EcgRecord:
        record = melp.read_ecg(self.root / str(self._studies.at[index, "path"]))
        return replace(record, record_id=self.record_id(index), report=self.report(index))
