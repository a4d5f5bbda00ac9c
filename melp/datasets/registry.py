"""``open_dataset(name, root, split, preprocess_config)``: one entry point for every dataset name.

Names: mimic, synth, ptbxl (every record with English text, for pretraining), ptbxl-super, ptbxl-sub,
ptbxl-form, ptbxl-rhythm, cpsc2018, csn, and records (any
folder of labelled headers, evaluation only). When ``root`` is a
store folder made by ``convert_to_store``, the store is opened instead (its name, split and preprocessing
must match what was asked for).
"""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from melp.datasets.challenge import ChallengeDataset
from melp.datasets.folder import FolderDataset
from melp.datasets.mimic import MimicDataset
from melp.datasets.ptbxl import PtbxlDataset, PtbxlReportsDataset
from melp.datasets.store import ArrayStoreDataset, is_store

DATASET_NAMES = ("mimic", "synth", "ptbxl", "ptbxl-super", "ptbxl-sub", "ptbxl-form", "ptbxl-rhythm", "cpsc2018", "csn", "records")


def _open_source(name: str, root: Path, split: str, preprocess_config: Any, exclude: tuple[str, ...]) -> Any:
    if exclude and name != "records":
        raise ValueError(f"exclude={list(exclude)} applies to the 'records' dataset only, not {name!r}")
    if name in ("mimic", "synth"):
        return MimicDataset(root, split, preprocess_config, name=name)
    if name == "records":
        return FolderDataset(root, split, preprocess_config, exclude=exclude)
    if name == "ptbxl":
        return PtbxlReportsDataset(root, split, preprocess_config)
    if name.startswith("ptbxl-"):
        return PtbxlDataset(root, split, name.removeprefix("ptbxl-"), preprocess_config)
    return ChallengeDataset(root, split, name, preprocess_config)


def _check_store(store: ArrayStoreDataset, name: str, split: str, preprocess_config: Any) -> None:
    if (store.name, store.split) != (name, split):
        raise ValueError(f"{store.store_dir}: store holds {store.name}/{store.split}, asked for {name}/{split}; "
                         "pass the store made for that dataset and split")
    if preprocess_config is not None and asdict(preprocess_config) != asdict(store.preprocess_config):
        raise ValueError(f"{store.store_dir}: store was preprocessed with {store.preprocess_config}, the model "
                         f"expects {preprocess_config}; convert the dataset again with the model's config")


def open_dataset(name: str, root: str | Path, split: str = "train", preprocess_config: Any = None,
                 exclude: tuple[str, ...] = ()) -> Any:
    """A dataset (EcgTextDataset or ArrayStoreDataset) yielding signal/lead_mask/report/labels/record_id dicts.

    ``exclude``: file-name patterns of records to leave out (the ``records`` dataset only).
    """
    if name not in DATASET_NAMES:
        raise ValueError(f"dataset {name!r} is unknown; expected one of {DATASET_NAMES}")
    root = Path(root)
    if not root.exists():
        raise FileNotFoundError(f"{root}: dataset folder for {name!r} not found; pass --root to where it lives")
    if is_store(root):
        store = ArrayStoreDataset(root)
        _check_store(store, name, split, preprocess_config)
        return store
    return _open_source(name, root, split, preprocess_config, tuple(exclude))
