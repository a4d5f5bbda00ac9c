"""The resumable shard store of a library build.

A library folder only ever appears by renaming a complete, fsynced temporary folder next to it
(melp.atomic.replace_folder), so an interrupted write leaves either the previous library or none,
never half of one. A build keeps
its embeddings in a work folder (``<out>.building``) as one ``.npy`` + ``.parquet`` pair per shard,
each written atomically; a killed build finds the finished shards there and continues.
"""
from __future__ import annotations

import json
import logging
import shutil
from io import BytesIO
from pathlib import Path

import numpy as np
import pandas as pd

from melp.atomic import replacing, write_bytes_atomic, write_text_atomic

logger = logging.getLogger(__name__)

WORK_SUFFIX = ".building"  # resumable work folder of a build, next to the target
PLAN_FILE = "plan.json"


def write_json_atomic(path: Path, payload: dict) -> None:
    write_text_atomic(path, json.dumps(payload, indent=2, sort_keys=True), durable=True)


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
