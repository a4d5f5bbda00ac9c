"""Durable files for libraries: atomic folder replacement and the resumable shard store of a build.

A library folder only ever appears by renaming a complete, fsynced temporary folder next to it, so
an interrupted write leaves either the previous library or none, never half of one. A build keeps
its embeddings in a work folder (``<out>.building``) as one ``.npy`` + ``.parquet`` pair per shard,
each written atomically; a killed build finds the finished shards there and continues.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import uuid
from io import BytesIO
from pathlib import Path

import numpy as np
import pandas as pd

from melp.atomic import fsync_path, replacing, write_bytes_atomic, write_text_atomic

logger = logging.getLogger(__name__)

WORK_SUFFIX = ".building"  # resumable work folder of a build, next to the target
TMP_MARKER = ".tmp-"  # temporary library being written, next to the target
BACKUP_MARKER = ".old-"  # previous library moved aside during the swap
PLAN_FILE = "plan.json"


def fsync_tree(folder: Path) -> None:
    for path in sorted(folder.rglob("*")):
        fsync_path(path)
    fsync_path(folder)


def write_json_atomic(path: Path, payload: dict) -> None:
    write_text_atomic(path, json.dumps(payload, indent=2, sort_keys=True), durable=True)


def new_temp_folder(target: Path) -> Path:
    """An empty folder next to ``target`` (same filesystem, so the final rename is atomic)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f"{target.name}{TMP_MARKER}{uuid.uuid4().hex[:8]}")
    tmp.mkdir()
    return tmp


def recover_interrupted_swap(target: Path) -> None:
    """If a swap died after moving the old library aside, put the old library back."""
    if target.exists():
        return
    backups = sorted(target.parent.glob(f"{target.name}{BACKUP_MARKER}*"))
    if backups:
        logger.warning("%s: restoring %s left by an interrupted write", target, backups[-1].name)
        os.rename(backups[-1], target)


def replace_folder(tmp: Path, target: Path) -> None:
    """Make the complete folder ``tmp`` become ``target``, replacing any previous one.

    ``tmp`` is fsynced first. If a previous library exists it is moved aside, the new one renamed in,
    and the old one deleted; a crash between the two renames is undone by ``recover_interrupted_swap``.
    """
    fsync_tree(tmp)
    recover_interrupted_swap(target)
    backup = None
    if target.exists():
        backup = target.with_name(f"{target.name}{BACKUP_MARKER}{uuid.uuid4().hex[:8]}")
        os.rename(target, backup)
    os.rename(tmp, target)
    fsync_path(target.parent)
    if backup is not None:
        shutil.rmtree(backup)


def remove_stale_temporaries(target: Path) -> None:
    """Delete temporary folders that crashed writes left next to ``target``."""
    for stale in target.parent.glob(f"{target.name}{TMP_MARKER}*"):
        logger.info("removing %s left by an interrupted write", stale)
        if stale.is_dir():
            shutil.rmtree(stale)
        else:
            stale.unlink()


class ShardStore:
    """Embeddings and metadata of a build, one atomic file pair per shard, plus the build plan."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @classmethod
    def for_target(cls, target: Path) -> "ShardStore":
        return cls(target.with_name(target.name + WORK_SUFFIX))

    def read_plan(self) -> dict | None:
        path = self.folder / PLAN_FILE
        return json.loads(path.read_text()) if path.exists() else None

    def start(self, plan: dict) -> None:
        """Begin or continue a build; a plan different from the stored one starts from scratch."""
        stored = self.read_plan()
        if stored is not None and stored != plan:
            logger.warning("%s: build settings changed since the interrupted build; starting over", self.folder)
            self.discard()
        self.folder.mkdir(parents=True, exist_ok=True)
        if stored != plan:
            write_json_atomic(self.folder / PLAN_FILE, plan)

    def _paths(self, shard: int) -> tuple[Path, Path, Path]:
        stem = self.folder / f"shard-{shard:06d}"
        return stem.with_suffix(".ecg.npy"), stem.with_suffix(".report.npy"), stem.with_suffix(".parquet")

    def is_done(self, shard: int) -> bool:
        # the metadata file is written last, so its presence means the whole shard is there
        return self._paths(shard)[2].exists()

    def write_shard(self, shard: int, ecg_embeds: np.ndarray, report_embeds: np.ndarray, rows: pd.DataFrame) -> None:
        """Store one shard: ECG embeddings (n, D), report embeddings (n, D) (NaN rows where a record
        has no report) and its metadata rows, each file atomically, metadata last."""
        ecg_path, report_path, rows_path = self._paths(shard)
        for path, array in ((ecg_path, ecg_embeds), (report_path, report_embeds)):
            write_bytes_atomic(path, _npy_bytes(np.ascontiguousarray(array, dtype=np.float32)), durable=True)
        with replacing(rows_path, durable=True) as tmp:
            rows.to_parquet(tmp, index=False)

    def read_shard(self, shard: int) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
        ecg_path, report_path, rows_path = self._paths(shard)
        return (
            np.load(ecg_path, allow_pickle=False),
            np.load(report_path, allow_pickle=False),
            pd.read_parquet(rows_path),
        )

    def discard(self) -> None:
        if self.folder.exists():
            shutil.rmtree(self.folder)


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()
