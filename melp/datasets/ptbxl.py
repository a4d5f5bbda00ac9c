"""PTB-XL as PhysioNet ships it (records100/ + ptbxl_database.csv + scp_statements.csv), plus the MERL/MELP
label splits (label_splits/ptbxl_{super_class,sub_class,form,rhythm}_{train,val,test}.csv).

Two views:
- ``PtbxlDataset`` (ptbxl-super, ptbxl-sub, ptbxl-form, ptbxl-rhythm): one label set, the records that
  carry a label of it. With ``label_splits/`` present the labels and records are exactly the ones MERL
  and MELP evaluate on (all 21,799 records); without it they are derived from ``scp_codes`` of the
  database at any likelihood (as the PTB-XL benchmark does). Label sets:
      super   5 diagnostic classes        sub     23 diagnostic subclasses
      form    19 form statements          rhythm  12 rhythm statements
- ``PtbxlReportsDataset`` (ptbxl): every record, with English text (``melp.datasets.ptbxl_text``) for
  pretraining, the English original report as alternative text where there is one, and the labels of
  all four sets ("super:NORM", ...) for zero-shot validation.
Splits follow ``strat_fold`` (split by patient): 1-8 train, 9 val (every choice), 10 test (reported only).
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
from melp.datasets.ptbxl_text import compose_from_codes, compose_from_labels, is_english, statement_phrases
from melp.datasets.text import normalise_report
from melp.record import EcgRecord

logger = logging.getLogger(__name__)

DATABASE_CSV = "ptbxl_database.csv"
STATEMENTS_CSV = "scp_statements.csv"
LABEL_SPLITS_DIR = "label_splits"
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
SPLIT_FILE_SETS = {"super": "super_class", "sub": "sub_class", "form": "form", "rhythm": "rhythm"}
ALL_LABELS: tuple[str, ...] = tuple(f"{name}:{label}" for name, labels in LABEL_SETS.items() for label in labels)


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
                                    f"{DATABASE_CSV}, {STATEMENTS_CSV} and records100/ (download PTB-XL from "
                                    "PhysioNet, https://physionet.org/content/ptb-xl/)")
    database = pd.read_csv(root / DATABASE_CSV, index_col="ecg_id")
    statements = pd.read_csv(root / STATEMENTS_CSV, index_col=0)
    return database, statements


def read_label_splits(root: Path) -> pd.DataFrame | None:
    """One row per ecg_id: patient_id, strat_fold, filename_lr/hr and a tuple of labels per set; None when absent."""
    folder = root / LABEL_SPLITS_DIR
    if not folder.is_dir():
        return None
    tables: dict[str, pd.DataFrame] = {}
    for set_name, file_set in SPLIT_FILE_SETS.items():
        parts = []
        for split in SPLITS:
            path = folder / f"ptbxl_{file_set}_{split}.csv"
            if not path.is_file():
                raise FileNotFoundError(f"{path}: missing; {folder} must hold the 12 label-split files "
                                        f"(ptbxl_<set>_<train|val|test>.csv) or nothing")
            parts.append(pd.read_csv(path))
        table = pd.concat(parts).set_index("ecg_id")
        columns = [label for label in LABEL_SETS[set_name] if label in table.columns]
        if len(columns) != len(LABEL_SETS[set_name]):
            raise ValueError(f"{folder}: {file_set} files lack columns "
                             f"{sorted(set(LABEL_SETS[set_name]) - set(columns))}; expected {LABEL_SETS[set_name]}")
        hot = table[columns].to_numpy() > 0
        tables[set_name] = table.assign(**{f"_{set_name}": [tuple(np.asarray(columns)[row]) for row in hot]})
    keys = ["patient_id", "strat_fold", "filename_lr", "filename_hr"]
    merged = pd.concat([table[keys] for table in tables.values()])
    merged = merged[~merged.index.duplicated()].sort_index()
    for set_name, table in tables.items():
        merged[set_name] = table[f"_{set_name}"].reindex(merged.index).map(lambda v: v if isinstance(v, tuple) else ())
    return merged


class _PtbxlBase(EcgTextDataset):
    """What both views share: the tables, the fold split, English text, reading a record."""

    def __init__(self, root: str | Path, split: str, preprocess_config: Any, source_fs: float | None) -> None:
        super().__init__(preprocess_config)
        self.root = Path(root)
        self.split = check_split(split, SPLITS, self.name)
        rate = self.preprocess_config.fs if source_fs is None else source_fs
        self.file_column = "filename_lr" if rate <= LOW_RATE_HZ else "filename_hr"
        if self.file_column == "filename_hr" and not (self.root / "records500").is_dir():
            logger.warning("%s: no records500/; reading the 100 Hz records (records100/) for a %g Hz model",
                           self.root, rate)
            self.file_column = "filename_lr"
        self.database, statements = read_tables(self.root)
        self.statements = statements
        self.phrases = statement_phrases(statements)
        self.label_splits = read_label_splits(self.root)

    def _text(self, ecg_id: int) -> tuple[str, str]:
        """(composed English report, English original or "") of one record."""
        if ecg_id in self.database.index:
            row = self.database.loc[ecg_id]
            codes = ast.literal_eval(row["scp_codes"])  # literal dict text, never executed
            original = str(row.get("report", "") or "")
            english = normalise_report(original) if is_english(original) else ""
            return normalise_report(compose_from_codes(codes, self.phrases)), english
        labels = self.label_splits.loc[ecg_id]
        text = compose_from_labels(labels["rhythm"], labels["form"], labels["sub"], self.phrases)
        return normalise_report(text), ""

    def _in_split(self, folds: pd.Series) -> pd.Series:
        return folds.isin(SPLIT_FOLDS[self.split])

    def record_id(self, index: int) -> str:
        return f"ptbxl-{self._ids[index]}"

    def report(self, index: int) -> str:
        return self._reports[index]

    def labels(self, index: int) -> np.ndarray:
        return self._labels[index]

    def label_matrix(self) -> np.ndarray:
        return self._labels.copy()

    def __len__(self) -> int:
        return len(self._ids)

    def read_record(self, index: int) -> EcgRecord:
        record = melp.read_ecg(self.root / self._files[index])
        return replace(record, record_id=self.record_id(index), report=self._reports[index])


class PtbxlDataset(_PtbxlBase):
    """One PTB-XL split with one label set; ``source_fs`` None picks records100/500 from the model rate."""

    def __init__(self, root: str | Path, split: str = "train", label_set: str = "super",
                 preprocess_config: Any = None, source_fs: float | None = None) -> None:
        if label_set not in LABEL_SETS:
            raise ValueError(f"PTB-XL: label set {label_set!r} is unknown; expected one of {tuple(LABEL_SETS)}")
        self.name = f"ptbxl-{label_set}"
        self.label_names = LABEL_SETS[label_set]
        super().__init__(root, split, preprocess_config, source_fs)
        positives = self._positives(label_set)
        self._ids = [ecg_id for ecg_id, positive in positives if positive]
        rows = {ecg_id: positive for ecg_id, positive in positives}
        self._files = [str(self._table().at[ecg_id, self.file_column]) for ecg_id in self._ids]
        self._reports = [self._text(ecg_id)[0] for ecg_id in self._ids]
        self._labels = (np.stack([multi_hot(rows[ecg_id], self.label_names) for ecg_id in self._ids])
                        if self._ids else np.zeros((0, len(self.label_names)), np.float32))
        logger.info("%s/%s: %d of %d records carry a %s label (%s)", self.name, split, len(self._ids),
                    len(positives), label_set, "label splits" if self.label_splits is not None else "scp_codes")

    def _table(self) -> pd.DataFrame:
        return self.label_splits if self.label_splits is not None else self.database

    def _positives(self, label_set: str) -> list[tuple[int, set[str]]]:
        """(ecg_id, positive labels) of every record of the split, from the label splits or scp_codes."""
        table = self._table()
        rows = table[self._in_split(table["strat_fold"])]
        if self.label_splits is not None:
            return [(int(ecg_id), set(labels)) for ecg_id, labels in rows[label_set].items()]
        mapping = statement_map(self.statements, label_set, self.root / STATEMENTS_CSV)
        return [(int(ecg_id), {mapping[code] for code in ast.literal_eval(codes) if code in mapping})
                for ecg_id, codes in rows["scp_codes"].items()]


class PtbxlReportsDataset(_PtbxlBase):
    """Every record of a PTB-XL split with English text for pretraining, and the labels of all four sets."""

    name = "ptbxl"
    label_names = ALL_LABELS

    def __init__(self, root: str | Path, split: str = "train", preprocess_config: Any = None,
                 source_fs: float | None = None) -> None:
        super().__init__(root, split, preprocess_config, source_fs)
        table = self.label_splits if self.label_splits is not None else self.database
        rows = table[self._in_split(table["strat_fold"])]
        self._ids = [int(ecg_id) for ecg_id in rows.index]
        self._files = [str(name) for name in rows[self.file_column]]
        texts = [self._text(ecg_id) for ecg_id in self._ids]
        self._reports = [text for text, _ in texts]
        self._alt_reports = [english for _, english in texts]
        self._labels = self._all_labels(rows)
        logger.info("ptbxl/%s: %d records, %d with an English original report", split, len(self._ids),
                    sum(bool(text) for text in self._alt_reports))

    def _all_labels(self, rows: pd.DataFrame) -> np.ndarray:
        if self.label_splits is None:
            per_set = {name: statement_map(self.statements, name, self.root / STATEMENTS_CSV) for name in LABEL_SETS}
            positives = [{f"{name}:{mapping[code]}" for name, mapping in per_set.items()
                          for code in ast.literal_eval(codes) if code in mapping} for codes in rows["scp_codes"]]
        else:
            positives = [{f"{name}:{label}" for name in LABEL_SETS for label in row[name]}
                         for _, row in rows.iterrows()]
        if not positives:
            return np.zeros((0, len(ALL_LABELS)), np.float32)
        return np.stack([multi_hot(positive, ALL_LABELS) for positive in positives])

    def alt_report(self, index: int) -> str:
        """The English original report ("" when the original is German, Swedish or absent)."""
        return self._alt_reports[index]
