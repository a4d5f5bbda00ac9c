"""PTB-XL (ptbxl_database.csv + scp_statements.csv + records100/records500) with the MERL/MELP label sets.

Label sets (derived from scp_statements.csv, names with PTB-XL's trailing/leading "_" removed):
    super   5 diagnostic classes (diagnostic_class of every diagnostic statement)
    sub     23 diagnostic subclasses (diagnostic_subclass)
    form    19 form statements (form == 1)
    rhythm  12 rhythm statements (rhythm == 1)
A statement counts when it is listed in ``scp_codes`` at any likelihood (as the PTB-XL benchmark does);
records with no label of the chosen set are left out of that set. Splits: strat_fold 1-8 train, 9 val, 10 test.
"""
from __future__ import annotations

import ast
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import melp
from melp.datasets.base import SPLITS, EcgTextDataset, check_split, multi_hot
from melp.datasets.text import normalise_report
from melp.record import EcgRecord

logger = logging.getLogger(__name__)

DATABASE_CSV = "ptbxl_database.csv"
STATEMENTS_CSV = "scp_statements.csv"
SPLIT_FOLDS = {"train": tuple(range(1, 9)), "val": (9,), "test": (10,)}
LOW_RATE_HZ = 100.0  # records100; records500 are used for any model rate above this
LABEL_SETS: dict[str, tuple[str, ...]] = {
    "super": ("NORM", "MI", "STTC", "CD", "HYP"),
    "sub": ("NORM", "STTC", "NST", "ISC", "ISCA", "ISCI", "AMI", "IMI", "LMI", "PMI", "LVH", "RVH",
            "SEHYP", "LAO/LAE", "RAO/RAE", "CLBBB", "CRBBB", "ILBBB", "IRBBB", "IVCD", "LAFB/LPFB",
            "WPW", "AVB"),
    "form": ("NDT", "NST", "DIG", "LNGQT", "ABQRS", "PVC", "STD", "VCLVH", "QWAVE", "LOWT", "NT", "PAC",
             "LPR", "INVT", "LVOLT", "HVOLT", "TAB", "STE", "PRC(S)"),
    "rhythm": ("SR", "AFIB", "STACH", "SARRH", "SBRAD", "PACE", "SVARR", "BIGU", "AFLT", "SVTAC", "PSVT",
               "TRIGU"),
}


def _clean(name: object) -> str:
    return str(name).strip().strip("_")


def statement_map(statements: pd.DataFrame, label_set: str, path: Path) -> dict[str, str]:
    """scp code -> label name of ``label_set``, from scp_statements.csv's columns."""
    if label_set in ("super", "sub"):
        column = "diagnostic_class" if label_set == "super" else "diagnostic_subclass"
        chosen = statements[statements["diagnostic"] == 1]
        mapping = {code: _clean(value) for code, value in chosen[column].items() if isinstance(value, str)}
    else:
        chosen = statements[statements[label_set] == 1]
        mapping = {code: _clean(code) for code in chosen.index}
    unknown = sorted(set(mapping.values()) - set(LABEL_SETS[label_set]))
    if unknown:
        raise ValueError(f"{path}: label set {label_set!r} derives labels {unknown}, expected only "
                         f"{LABEL_SETS[label_set]}; is this PTB-XL's own scp_statements.csv?")
    return mapping


def read_tables(root: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(database indexed by ecg_id, statements indexed by scp code), with a clear error when missing."""
    for name in (DATABASE_CSV, STATEMENTS_CSV):
        if not (root / name).is_file():
            raise FileNotFoundError(f"{root / name}: not found; expected the PTB-XL folder that holds "
                                    f"{DATABASE_CSV}, {STATEMENTS_CSV} and records100/records500")
    database = pd.read_csv(root / DATABASE_CSV, index_col="ecg_id")
    statements = pd.read_csv(root / STATEMENTS_CSV, index_col=0)
    return database, statements


class PtbxlDataset(EcgTextDataset):
    """One PTB-XL split with one label set; ``source_fs`` None picks records100/500 from the model rate."""

    def __init__(self, root: str | Path, split: str = "train", label_set: str = "super",
                 preprocess_config: Any = None, source_fs: float | None = None) -> None:
        super().__init__(preprocess_config)
        if label_set not in LABEL_SETS:
            raise ValueError(f"PTB-XL: label set {label_set!r} is unknown; expected one of {tuple(LABEL_SETS)}")
        self.root = Path(root)
        self.name = f"ptbxl-{label_set}"
        self.split = check_split(split, SPLITS, self.name)
        self.label_names = LABEL_SETS[label_set]
        rate = self.preprocess_config.fs if source_fs is None else source_fs
        self.file_column = "filename_lr" if rate <= LOW_RATE_HZ else "filename_hr"
        database, statements = read_tables(self.root)
        mapping = statement_map(statements, label_set, self.root / STATEMENTS_CSV)
        rows = database[database["strat_fold"].isin(SPLIT_FOLDS[split])]
        self._ids: list[int] = []
        self._files: list[str] = []
        self._reports: list[str] = []
        label_rows: list[np.ndarray] = []
        for ecg_id, row in rows.iterrows():
            codes = ast.literal_eval(row["scp_codes"])  # literal dict text, never executed
            positive = {mapping[code] for code in codes if code in mapping}
            if not positive:
                continue
            self._ids.append(int(ecg_id))
            self._files.append(str(row[self.file_column]))
            self._reports.append(normalise_report(str(row.get("report", "") or "")))
            label_rows.append(multi_hot(positive, self.label_names))
        self._labels = np.stack(label_rows) if label_rows else np.zeros((0, len(self.label_names)), np.float32)
        logger.info("%s/%s: %d of %d records carry a %s label", self.name, split, len(self._ids), len(rows), label_set)

    def __len__(self) -> int:
        return len(self._ids)

    def record_id(self, index: int) -> str:
        return f"ptbxl-{self._ids[index]}"

    def report(self, index: int) -> str:
        return self._reports[index]

    def labels(self, index: int) -> np.ndarray:
        return self._labels[index]

    def label_matrix(self) -> np.ndarray:
        return self._labels.copy()

    def read_record(self, index: int) -> EcgRecord:
        record = melp.read_ecg(self.root / self._files[index])
        return replace(record, record_id=self.record_id(index), report=self._reports[index])
