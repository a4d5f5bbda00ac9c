"""Embed a source shard by shard into a ``ShardStore`` (the resumable, rank-parallel half of a build).

Shard ``s`` holds entries ``[s * shard_size, (s + 1) * shard_size)``; under torchrun rank ``r`` embeds
shards ``r, r + world, ...``. Shard boundaries and batches do not depend on the number of processes or on
where a build was interrupted, so every run embeds the same batches and ends with the same vectors.
"""
from __future__ import annotations

import logging
from typing import Any, Callable

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from index import display_signals
from index.sources import SourceEntry
from index.storage import ShardStore
from melp.record import EcgReadError, EcgRecord

logger = logging.getLogger(__name__)

DEFAULT_SHARD_SIZE = 1024  # records per resumable unit (a multiple of the batch size keeps batches aligned)
DEFAULT_BATCH_SIZE = 32
METADATA_COLUMNS = ("record_id", "source_path", "report", "labels", "age", "sex", "fs", "synth_seed", "synth_index",
                    "origin", "display_signal")


def shard_count(n_entries: int, shard_size: int) -> int:
    return -(-n_entries // shard_size)


def load_readable(entries: list[SourceEntry]) -> tuple[list[EcgRecord], list[SourceEntry]]:
    """Load each entry; files the reader rejects, and records that should carry a display copy but lack one
    of its leads (a flat lead counts as not recorded), are skipped with a warning naming them."""
    records, kept = [], []
    for entry in entries:
        try:
            record = entry.load()
        except EcgReadError as error:
            logger.warning("skipping unreadable record: %s", error)
            continue
        if entry.keep_signal and not display_signals.can_encode(record):
            logger.warning("skipping %s: its display copy needs leads %s, and %s are not recorded", record.record_id,
                           display_signals.STORED_LEADS, [name for name, ok in zip(record.leads, record.lead_mask)
                                                          if not ok and name in display_signals.STORED_LEADS])
            continue
        records.append(record)
        kept.append(entry)
    return records, kept


def embed_reports(model: Any, reports: list[str], batch_size: int) -> np.ndarray:
    """(n, D) report embeddings, NaN rows where the report is empty; each distinct text encoded once."""
    distinct = sorted({text for text in reports if text})
    vectors = model.encode_text(distinct, batch_size=batch_size) if distinct else None  # (U, D)
    position = {text: i for i, text in enumerate(distinct)}
    dim = vectors.shape[1] if vectors is not None else 0
    embeds = np.full((len(reports), dim), np.nan, dtype=np.float32)  # (n, D)
    for row, text in enumerate(reports):
        if text:
            embeds[row] = vectors[position[text]]
    return embeds


def metadata_rows(records: list[EcgRecord], entries: list[SourceEntry]) -> pd.DataFrame:
    """One metadata row per record, in the table's column order."""
    return pd.DataFrame(
        {
            "record_id": [record.record_id for record in records],
            "source_path": [entry.source_path or record.source for record, entry in zip(records, entries)],
            "report": [record.report or "" for record in records],
            "labels": [list(record.labels) for record in records],
            "age": pd.array([record.age for record in records], dtype="Float64"),
            "sex": [record.sex for record in records],
            "fs": [record.fs for record in records],
            "synth_seed": pd.array([entry.synth_seed for entry in entries], dtype="Int64"),
            "synth_index": pd.array([entry.synth_index for entry in entries], dtype="Int64"),
            "origin": [entry.origin for entry in entries],
            # (8, T) int16 bytes of a display copy, moved into display_signals.xz when the library is written
            "display_signal": [display_signals.encode(record).tobytes() if entry.keep_signal else None
                               for record, entry in zip(records, entries)],
        },
        columns=list(METADATA_COLUMNS),
    )


def embed_shard(
    model: Any, entries: list[SourceEntry], batch_size: int, reports: bool = True
) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """(ECG embeddings (n, D), report embeddings (n, D) NaN where none, metadata rows) of the readable entries;
    without ``reports`` the report embeddings are all NaN (a reference set needs ECG vectors only)."""
    records, kept = load_readable(entries)
    rows = metadata_rows(records, kept)
    if not records:
        return np.zeros((0, 0), np.float32), np.zeros((0, 0), np.float32), rows
    ecg_embeds = np.asarray(model.encode_ecg(records, batch_size=batch_size), dtype=np.float32)  # (n, D)
    report_embeds = (embed_reports(model, list(rows["report"]), batch_size) if reports  # (n, D) or (n, 0)
                     else np.zeros((len(records), 0), np.float32))
    if report_embeds.shape[1] == 0:
        report_embeds = np.full_like(ecg_embeds, np.nan)
    return ecg_embeds, report_embeds, rows


def embed_into_store(
    model: Any,
    entries: list[SourceEntry],
    store: ShardStore,
    shard_size: int,
    batch_size: int,
    rank: int = 0,
    world: int = 1,
    on_shard_done: Callable[[int], None] | None = None,
    reports: bool = True,
) -> None:
    """Embed this rank's unfinished shards; ``on_shard_done(shard)`` runs after each is stored; ``reports``
    as in ``embed_shard``."""
    mine = [s for s in range(shard_count(len(entries), shard_size)) if s % world == rank]
    todo = [s for s in mine if not store.is_done(s)]
    if len(todo) < len(mine):
        logger.info("rank %d: resuming, %d of %d shards already embedded", rank, len(mine) - len(todo), len(mine))
    n_todo = sum(len(entries[s * shard_size:(s + 1) * shard_size]) for s in todo)
    with tqdm(total=n_todo, desc=f"embedding (rank {rank})", unit="rec", disable=rank != 0) as bar:
        for shard in todo:
            chunk = entries[shard * shard_size:(shard + 1) * shard_size]
            ecg_embeds, report_embeds, rows = embed_shard(model, chunk, batch_size, reports)
            store.write_shard(shard, ecg_embeds, report_embeds, rows)
            bar.update(len(chunk))
            if on_shard_done is not None:
                on_shard_done(shard)


def read_all_shards(store: ShardStore, n_shards: int) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Concatenate every shard in order: (ECG (N, D), reports (N, D) NaN where none, metadata rows)."""
    parts = [store.read_shard(shard) for shard in range(n_shards)]
    parts = [part for part in parts if len(part[2])]
    if not parts:
        raise ValueError(f"{store.folder}: no record of the source could be read; nothing to index")
    ecg = np.concatenate([part[0] for part in parts])  # (N, D)
    reports = np.concatenate([part[1] for part in parts])  # (N, D)
    rows = pd.concat([part[2] for part in parts], ignore_index=True)
    return ecg, reports, rows
