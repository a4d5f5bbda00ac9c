"""A one-time conversion of any dataset into a memory-mapped float16 array store, and its fast reader.

Layout of a store folder:
    signals.f16.npy   (N, 12, T) float16, preprocessed signals (np.lib.format, opened with mmap)
    lead_masks.npy    (N, 12) bool
    labels.npy        (N, K) float32
    kept.npy          (N,) bool, False for records the dataset rejected (NaN/empty signal)
    heartbeats.npy    (N, MAX_HEARTBEATS) int16 R peaks of the model input, PAD after the last
    heartbeat_types.npy (N, MAX_HEARTBEATS) int8 heartbeat kind codes
    records.parquet   record_id, report, alt_report per row
    store_manifest.json  dataset name/split, label names, preprocessing config, source fingerprint,
                      rows done, complete flag
Conversion writes rows in chunks and records progress after each, so an interrupted conversion resumes
where it stopped (the source fingerprint must match); readers refuse an incomplete store.
"""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader, Subset
from tqdm.auto import tqdm

import melp
from melp.atomic import write_text_atomic
from melp.data.heartbeats import MAX_HEARTBEATS, PAD
from melp.datasets.base import EcgTextDataset, RecordRejected, preprocess_config_dict

logger = logging.getLogger(__name__)

MANIFEST = "store_manifest.json"
SIGNALS = "signals.f16.npy"
LEAD_MASKS = "lead_masks.npy"
LABELS = "labels.npy"
KEPT = "kept.npy"
RECORDS = "records.parquet"
HEARTBEATS = "heartbeats.npy"
HEARTBEAT_TYPES = "heartbeat_types.npy"
STORE_FORMAT_VERSION = 2  # 2: heartbeats, heartbeat kinds and alternative texts
N_LEADS = 12
DEFAULT_CHUNK = 256


class _Rows(torch.utils.data.Dataset):
    """Source items for conversion: the sample dict, or None when the dataset rejects the record."""

    def __init__(self, dataset: EcgTextDataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> dict[str, Any] | None:
        try:
            return self.dataset[index]
        except RecordRejected as exc:
            logger.info("skipping record %d: %s", index, exc)
            return None


def _as_is(item: dict[str, Any] | None) -> dict[str, Any] | None:
    """Collate function that leaves one item unchanged (picklable for worker processes)."""
    return item


def _write_manifest(store_dir: Path, manifest: dict[str, Any]) -> None:
    """Atomic write: a reader never sees a half-written manifest."""
    write_text_atomic(store_dir / MANIFEST, json.dumps(manifest, indent=2))


def _read_manifest(store_dir: Path) -> dict[str, Any] | None:
    path = store_dir / MANIFEST
    return json.loads(path.read_text()) if path.is_file() else None


def _new_store(dataset: EcgTextDataset, store_dir: Path, fingerprint: str) -> dict[str, Any]:
    config = dataset.preprocess_config
    n_rows, n_samples = len(dataset), int(round(config.fs * config.seconds))
    store_dir.mkdir(parents=True, exist_ok=True)
    np.lib.format.open_memmap(store_dir / SIGNALS, "w+", np.float16, (n_rows, N_LEADS, n_samples)).flush()
    np.lib.format.open_memmap(store_dir / LEAD_MASKS, "w+", bool, (n_rows, N_LEADS)).flush()
    np.lib.format.open_memmap(store_dir / KEPT, "w+", bool, (n_rows,)).flush()
    for name, dtype in ((HEARTBEATS, np.int16), (HEARTBEAT_TYPES, np.int8)):
        array = np.lib.format.open_memmap(store_dir / name, "w+", dtype, (n_rows, MAX_HEARTBEATS))
        array[:] = PAD
        array.flush()
    np.save(store_dir / LABELS, dataset.label_matrix().astype(np.float32), allow_pickle=False)
    records = pd.DataFrame({"record_id": [dataset.record_id(i) for i in range(n_rows)],
                            "report": [dataset.report(i) for i in range(n_rows)],
                            "alt_report": [dataset.alt_report(i) for i in range(n_rows)]})
    records.to_parquet(store_dir / RECORDS, index=False)
    manifest = {"format_version": STORE_FORMAT_VERSION, "dataset": dataset.name, "split": dataset.split,
                "label_names": list(dataset.label_names), "preprocess": preprocess_config_dict(config),
                "fingerprint": fingerprint, "n_rows": n_rows, "n_samples": n_samples, "rows_done": 0,
                "n_kept": 0, "complete": False}
    _write_manifest(store_dir, manifest)
    return manifest


def convert_to_store(dataset: EcgTextDataset, store_dir: str | Path, chunk: int = DEFAULT_CHUNK,
                     num_workers: int = 0) -> Path:
    """Write ``dataset`` into a store at ``store_dir`` (resuming a matching, unfinished one); returns the folder."""
    store_dir = Path(store_dir)
    fingerprint = dataset.fingerprint()
    manifest = _read_manifest(store_dir)
    _check_format(store_dir, manifest)
    if manifest is not None and manifest["fingerprint"] != fingerprint:
        raise ValueError(f"{store_dir / MANIFEST}: the store was made from a different source (fingerprint "
                         f"{manifest['fingerprint'][:12]}, this dataset {fingerprint[:12]}); pick a new folder or delete it")
    if manifest is None:
        manifest = _new_store(dataset, store_dir, fingerprint)
    if manifest["complete"]:
        logger.info("%s: store already complete (%d rows kept)", store_dir, manifest["n_kept"])
        return store_dir
    signals = np.load(store_dir / SIGNALS, mmap_mode="r+")  # (N, 12, T) float16
    lead_masks = np.load(store_dir / LEAD_MASKS, mmap_mode="r+")  # (N, 12)
    kept = np.load(store_dir / KEPT, mmap_mode="r+")  # (N,)
    heartbeats = np.load(store_dir / HEARTBEATS, mmap_mode="r+")  # (N, MAX_HEARTBEATS)
    heartbeat_types = np.load(store_dir / HEARTBEAT_TYPES, mmap_mode="r+")  # (N, MAX_HEARTBEATS)
    start = manifest["rows_done"]
    loader = DataLoader(Subset(_Rows(dataset), range(start, len(dataset))), batch_size=None,
                        num_workers=num_workers, collate_fn=_as_is)
    row = start
    for item in tqdm(loader, desc=f"store {dataset.name}/{dataset.split}", initial=start, total=len(dataset)):
        if item is not None:
            signals[row] = item["signal"].astype(np.float16)
            lead_masks[row] = item["lead_mask"]
            heartbeats[row] = item["heartbeats"]
            heartbeat_types[row] = item["heartbeat_types"]
            kept[row] = True
        row += 1
        if (row - start) % chunk == 0 or row == len(dataset):
            for array in (signals, lead_masks, kept, heartbeats, heartbeat_types):
                array.flush()
            manifest.update(rows_done=row, n_kept=int(np.count_nonzero(kept[:row])))
            _write_manifest(store_dir, manifest)
    n_kept = int(np.count_nonzero(kept))
    if n_kept == 0 and len(dataset) > 0:
        raise ValueError(f"{store_dir}: every one of {len(dataset)} records of {dataset.name}/{dataset.split} was "
                         "rejected (see the log); check the dataset root and that the signal files are present")
    manifest.update(rows_done=len(dataset), n_kept=n_kept, complete=True)
    _write_manifest(store_dir, manifest)
    logger.info("%s: wrote %d rows (%d rejected)", store_dir, manifest["n_kept"], len(dataset) - manifest["n_kept"])
    return store_dir


def _check_format(store_dir: Path, manifest: dict[str, Any] | None) -> None:
    found = None if manifest is None else manifest.get("format_version")
    if manifest is not None and found != STORE_FORMAT_VERSION:
        raise ValueError(f"{store_dir}: store format {found}, this version of melp reads format "
                         f"{STORE_FORMAT_VERSION} (it adds heartbeats); delete the folder and convert again")


def is_store(path: str | Path) -> bool:
    """True when ``path`` is a store folder (has a store manifest)."""
    return (Path(path) / MANIFEST).is_file()


class ArrayStoreDataset(torch.utils.data.Dataset):
    """Reads a complete store; same sample dicts as the source dataset, signals back in float32."""

    def __init__(self, store_dir: str | Path) -> None:
        self.store_dir = Path(store_dir)
        manifest = _read_manifest(self.store_dir)
        if manifest is None or not manifest["complete"]:
            state = "missing" if manifest is None else f"incomplete ({manifest['rows_done']}/{manifest['n_rows']} rows)"
            raise ValueError(f"{self.store_dir}: store manifest {state}; run melp.datasets.convert_to_store "
                             "again on the same dataset to finish it")
        _check_format(self.store_dir, manifest)
        self.manifest = manifest
        self.name, self.split = manifest["dataset"], manifest["split"]
        self.label_names = tuple(manifest["label_names"])
        self.preprocess_config = melp.PreprocessConfig(**_config_fields(manifest["preprocess"]))
        self._rows = np.flatnonzero(np.load(self.store_dir / KEPT, allow_pickle=False))  # (N_kept,)
        self._labels = np.load(self.store_dir / LABELS, allow_pickle=False)[self._rows]  # (N_kept, K)
        records = pd.read_parquet(self.store_dir / RECORDS)
        self._record_ids = records["record_id"].to_numpy(dtype=str)[self._rows]
        self._reports = records["report"].to_numpy(dtype=str)[self._rows]
        self._alt_reports = records["alt_report"].fillna("").to_numpy(dtype=str)[self._rows]
        self._heartbeats = np.load(self.store_dir / HEARTBEATS, allow_pickle=False)[self._rows]  # (N_kept, MAX)
        self._heartbeat_types = np.load(self.store_dir / HEARTBEAT_TYPES, allow_pickle=False)[self._rows]
        self._arrays: tuple[int, np.ndarray, np.ndarray] | None = None

    def _open(self) -> tuple[np.ndarray, np.ndarray]:
        """(signals, lead_masks) memmaps, opened once per process (safe with DataLoader workers)."""
        if self._arrays is None or self._arrays[0] != os.getpid():
            self._arrays = (os.getpid(), np.load(self.store_dir / SIGNALS, mmap_mode="r"),
                            np.load(self.store_dir / LEAD_MASKS, mmap_mode="r"))
        return self._arrays[1], self._arrays[2]

    def alt_report(self, index: int) -> str:
        return str(self._alt_reports[index])

    def __len__(self) -> int:
        return len(self._rows)

    def record_id(self, index: int) -> str:
        return str(self._record_ids[index])

    def report(self, index: int) -> str:
        return str(self._reports[index])

    def labels(self, index: int) -> np.ndarray:
        return self._labels[index]

    def label_matrix(self) -> np.ndarray:
        return self._labels.copy()

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.__getitems__([index])[0]

    def __getitems__(self, indices: list[int]) -> list[dict[str, Any]]:
        """Batched read (torch DataLoader uses it): one sorted fancy index into the memmap."""
        signals, lead_masks = self._open()
        positions = np.asarray(indices, dtype=int)  # (B,)
        rows = self._rows[positions]
        order = np.argsort(rows, kind="stable")
        batch_signals = np.empty((len(rows), *signals.shape[1:]), np.float32)  # (B, 12, T)
        batch_signals[order] = signals[rows[order]]
        batch_masks = np.asarray(lead_masks[rows], bool)  # (B, 12)
        return [{"signal": batch_signals[k], "lead_mask": batch_masks[k], "report": self.report(p),
                 "labels": self._labels[p], "record_id": self.record_id(p), "heartbeats": self._heartbeats[p],
                 "heartbeat_types": self._heartbeat_types[p], "alt_report": self.alt_report(p)}
                for k, p in enumerate(positions)]


def _config_fields(stored: dict[str, Any]) -> dict[str, Any]:
    """Stored preprocess dict -> PreprocessConfig kwargs (lists back to tuples)."""
    return {key: (tuple(value) if isinstance(value, list) else value) for key, value in stored.items()}
