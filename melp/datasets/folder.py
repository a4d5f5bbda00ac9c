"""Any folder of labelled ECG headers (WFDB or challenge .mat + .hea) as a zero-shot test set.

Labels are the readable diagnosis names the reader gives (``#Dx:`` codes through ``melp/data/dx_codes.csv``),
read from the headers alone. Only diagnoses with at least ``min_positives`` records become classes, and
each class is scored with its own name as the prompt: "type any diagnosis in plain words", measured.
Every record is one split ("all"): such a folder is for evaluation, never for training.
"""
from __future__ import annotations

from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import numpy as np

import melp
from melp.data.dx_codes import dx_names
from melp.data.readers_wfdb import parse_comments
from melp.datasets.base import EcgTextDataset, check_split, multi_hot
from melp.datasets.text import normalise_report
from melp.record import EcgRecord

FOLDER_SPLITS = ("all",)
DEFAULT_MIN_POSITIVES = 5  # classes with fewer positives give AUROCs too noisy to report


def _header_labels(header: Path) -> tuple[str, ...]:
    comments = [line.strip() for line in header.read_text(errors="replace").splitlines() if line.startswith("#")]
    parsed = parse_comments(comments)
    return tuple(dict.fromkeys((*dx_names(parsed.codes), *parsed.diagnoses)))  # readable names, duplicates dropped, order kept


class FolderDataset(EcgTextDataset):
    """Every ``.hea`` under ``root`` (recursively); classes are diagnoses with enough positives."""

    def __init__(self, root: str | Path, split: str = "all", preprocess_config: Any = None,
                 min_positives: int = DEFAULT_MIN_POSITIVES, exclude: tuple[str, ...] = ()) -> None:
        super().__init__(preprocess_config)
        self.name, self.split = "records", check_split(split, FOLDER_SPLITS, "records")
        self.root = Path(root)
        self.exclude = tuple(exclude)  # file-name patterns left out, e.g. "HR*" (PTB-XL) for a PTB-XL-trained model
        self.headers = sorted(header for header in self.root.rglob("*.hea")
                              if not any(fnmatch(header.name, pattern) for pattern in self.exclude))
        if not self.headers:
            raise FileNotFoundError(f"{self.root}: no .hea headers found{' after excluding ' + str(list(exclude)) if exclude else ''}; "
                                    "expected WFDB or challenge records")
        self._labels = [_header_labels(header) for header in self.headers]
        counts: dict[str, int] = {}
        for names in self._labels:
            for name in names:
                counts[name] = counts.get(name, 0) + 1
        self.label_names = tuple(sorted((n for n, c in counts.items() if c >= min_positives),
                                        key=lambda n: (-counts[n], n)))

    @property
    def prompts(self) -> dict[str, list[str]]:
        """Each class's own name, as a clinician would type it, is its one prompt."""
        return {name: [normalise_report(name)] for name in self.label_names}

    def __len__(self) -> int:
        return len(self.headers)

    def record_id(self, index: int) -> str:
        return str(self.headers[index].relative_to(self.root).with_suffix(""))

    def report(self, index: int) -> str:
        return ""

    def labels(self, index: int) -> np.ndarray:
        return multi_hot(self._labels[index], self.label_names)

    def read_record(self, index: int) -> EcgRecord:
        return melp.read_ecg(self.headers[index])
