"""CPSC2018 and Chapman-Shaoxing (CSN) in the PhysioNet/CinC challenge layout (.hea with ``#Dx:`` + .mat).

Class lists (MERL/MELP: CPSC2018 9 classes, CSN 38) are SNOMED CT codes + names in
``challenge_classes.csv``; a class may list several equivalent codes (e.g. RBBB and complete RBBB).
Records with no code of the chosen list are left out. The folder is searched recursively for ``*.hea``.

Split: MERL splits these datasets randomly 70/10/20 (train/val/test) and does not ship the split, so we
use a fixed, seeded, stratified one: records sorted by id are grouped by their rarest class, each group is
shuffled with ``SPLIT_SEED`` and cut 70/10/20. The split depends only on the record ids and labels.
"""
from __future__ import annotations

import csv
import logging
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

import melp
from melp.data.readers_wfdb import parse_comments
from melp.datasets.base import SPLITS, EcgTextDataset, check_split, multi_hot
from melp.record import EcgRecord

logger = logging.getLogger(__name__)

CLASSES_CSV = Path(__file__).with_name("challenge_classes.csv")
SPLIT_SEED = 42
SPLIT_FRACTIONS = {"train": 0.7, "val": 0.1, "test": 0.2}
NO_LABEL = -1


@lru_cache(maxsize=None)
def challenge_classes(label_set: str) -> tuple[tuple[str, tuple[str, ...], str], ...]:
    """(name, snomed codes, description) of each class of ``label_set`` ("cpsc2018" or "csn")."""
    with CLASSES_CSV.open(newline="", encoding="utf-8") as handle:
        rows = [row for row in csv.DictReader(handle) if row["label_set"] == label_set]
    if not rows:
        raise ValueError(f"{CLASSES_CSV}: no classes for label set {label_set!r}; expected 'cpsc2018' or 'csn'")
    return tuple((row["name"], tuple(row["snomed_codes"].split()), row["description"]) for row in rows)


def header_codes(hea_path: Path) -> tuple[str, ...]:
    """The ``#Dx:`` codes of one challenge header (comment lines only; signals are not read)."""
    comments = [line.strip() for line in hea_path.read_text(errors="replace").splitlines() if line.startswith("#")]
    return parse_comments(comments).codes


def stratified_split(record_ids: list[str], labels: np.ndarray, seed: int = SPLIT_SEED) -> dict[str, np.ndarray]:
    """split name -> sorted indices; groups by rarest positive class, shuffles each, cuts 70/10/20."""
    counts = labels.sum(axis=0)  # (K,)
    rarity = np.where(labels > 0, counts[None, :], np.inf)  # (N, K)
    group_of = np.where(np.isfinite(rarity.min(axis=1)), rarity.argmin(axis=1), NO_LABEL)  # (N,)
    order = np.argsort(np.asarray(record_ids), kind="stable")
    rng = np.random.default_rng(seed)
    parts: dict[str, list[int]] = {name: [] for name in SPLIT_FRACTIONS}
    for group in np.unique(group_of):
        members = order[group_of[order] == group]
        members = members[rng.permutation(len(members))]
        n_train = int(round(SPLIT_FRACTIONS["train"] * len(members)))
        n_val = int(round(SPLIT_FRACTIONS["val"] * len(members)))
        parts["train"].extend(members[:n_train])
        parts["val"].extend(members[n_train:n_train + n_val])
        parts["test"].extend(members[n_train + n_val:])
    return {name: np.sort(np.asarray(indices, dtype=int)) for name, indices in parts.items()}


class ChallengeDataset(EcgTextDataset):
    """One split of a challenge-layout folder with the CPSC2018 or CSN class list."""

    def __init__(self, root: str | Path, split: str = "train", label_set: str = "cpsc2018",
                 preprocess_config: Any = None, seed: int = SPLIT_SEED) -> None:
        super().__init__(preprocess_config)
        self.root = Path(root)
        self.name = label_set
        self.split = check_split(split, SPLITS, label_set)
        classes = challenge_classes(label_set)
        self.label_names = tuple(name for name, _, _ in classes)
        self.descriptions = {name: description for name, _, description in classes}
        code_to_class = {code: name for name, codes, _ in classes for code in codes}
        headers = sorted(self.root.rglob("*.hea"))
        if not headers:
            raise FileNotFoundError(f"{self.root}: no .hea files found; expected a PhysioNet/CinC challenge "
                                    "folder of .hea + .mat records")
        ids, paths, rows = [], [], []
        for hea_path in headers:
            positive = {code_to_class[code] for code in header_codes(hea_path) if code in code_to_class}
            if positive:
                ids.append(hea_path.stem)
                paths.append(hea_path)
                rows.append(multi_hot(positive, self.label_names))
        if not rows:
            raise ValueError(f"{self.root}: none of {len(headers)} headers has a {label_set} class code; "
                             f"expected #Dx codes listed in {CLASSES_CSV.name}")
        all_labels = np.stack(rows)  # (N_all, K)
        chosen = stratified_split(ids, all_labels, seed)[split]
        self._ids = [ids[i] for i in chosen]
        self._paths = [paths[i] for i in chosen]
        self._labels = all_labels[chosen]
        logger.info("%s/%s: %d records (%d of %d headers carry a class)", label_set, split, len(chosen),
                    len(ids), len(headers))

    def __len__(self) -> int:
        return len(self._ids)

    def record_id(self, index: int) -> str:
        return f"{self.name}-{self._ids[index]}"

    def report(self, index: int) -> str:
        return ""

    def labels(self, index: int) -> np.ndarray:
        return self._labels[index]

    def label_matrix(self) -> np.ndarray:
        return self._labels.copy()

    def read_record(self, index: int) -> EcgRecord:
        record = melp.read_ecg(self._paths[index])
        return replace(record, record_id=self.record_id(index))
