"""Write a complete library folder (indexes, metadata, manifest) atomically from embeddings and rows.

Files of a library:
    manifest.json      ``index.manifest.Manifest`` (written last, lists every other file with its size)
    metadata.parquet   one row per record: row_id, record_id, source_path, report, labels, age, sex, fs,
                       synth_seed, synth_index, origin (real / simulated / real (PTB-XL)), report_group
                       (position in the report index, -1 if none), display_row (position in
                       display_signals.xz, -1 if none)
    display_signals.xz compact display copies of waveforms the library keeps (index.display_signals);
                       absent when it keeps none
    ecg.faiss          ECG embeddings, id = row_id
    report.faiss       one embedding per distinct report text (absent when no record has a report)
    report_rows.npy    (R,) int64 row_id of the first record with each distinct report
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from index import display_signals
from index.faiss_index import EXACT_MAX_VECTORS, build_index
from index.manifest import MANIFEST_FILE, IndexEntry, Manifest, ReferenceEntry, now_iso
from melp.atomic import new_temp_folder, remove_stale_temporaries, replace_folder, write_bytes_atomic

logger = logging.getLogger(__name__)

METADATA_FILE = "metadata.parquet"
ECG_INDEX_FILE = "ecg.faiss"
REPORT_INDEX_FILE = "report.faiss"
REPORT_ROWS_FILE = "report_rows.npy"
DISPLAY_SIGNALS_FILE = "display_signals.xz"


@dataclass(frozen=True)
class LibraryContent:
    """Everything a library holds, before it is written."""

    rows: pd.DataFrame  # metadata rows, row_id = position
    ecg_embeds: np.ndarray  # (N, D) float32, unit length
    report_embeds: np.ndarray  # (R, D) float32, one per distinct report
    report_rows: np.ndarray  # (R,) int64 row of the first record with each report
    display_copies: list[np.ndarray]  # (8, T) int16 display copies, in display_row order


def library_content(rows: pd.DataFrame, ecg_embeds: np.ndarray, report_embeds_by_row: np.ndarray) -> LibraryContent:
    """Number the rows and deduplicate report texts (first occurrence wins). ``ecg_embeds`` is (N, D);
    ``report_embeds_by_row`` is (N, D) with NaN rows where a record has no report."""
    rows = rows.reset_index(drop=True).copy()
    rows.insert(0, "row_id", np.arange(len(rows), dtype=np.int64))
    reports = rows["report"].fillna("").astype(str)
    has_report = reports != ""
    first_rows = np.flatnonzero(has_report & ~reports.duplicated())  # (R,)
    group_of_text = {reports[row]: group for group, row in enumerate(first_rows)}
    rows["report_group"] = np.array([group_of_text.get(text, -1) for text in reports], dtype=np.int64)
    dim = report_embeds_by_row.shape[1]
    report_embeds = np.ascontiguousarray(report_embeds_by_row[first_rows], dtype=np.float32).reshape(-1, dim)
    ecg_embeds = np.ascontiguousarray(ecg_embeds, dtype=np.float32)  # (N, D)
    rows, copies = _take_display_copies(rows)
    return LibraryContent(rows, ecg_embeds, report_embeds, first_rows.astype(np.int64), copies)


def _take_display_copies(rows: pd.DataFrame) -> tuple[pd.DataFrame, list[np.ndarray]]:
    """Move the rows' display-copy bytes into a list, leaving a display_row column (-1 where none)."""
    column = rows.pop("display_signal") if "display_signal" in rows else pd.Series([None] * len(rows))
    copies, positions = [], []
    for blob in column:
        if blob is None or (isinstance(blob, float) and np.isnan(blob)):
            positions.append(-1)
            continue
        positions.append(len(copies))
        copies.append(np.frombuffer(blob, dtype=np.int16).reshape(len(display_signals.STORED_LEADS), -1))
    rows["display_row"] = np.asarray(positions, dtype=np.int64)
    if "origin" not in rows:  # a library written before rows said where they came from
        rows["origin"] = np.where(rows["synth_seed"].notna(), "simulated", "real")
    return rows, copies


def _index_entry(vectors: np.ndarray, folder: Path, file: str, exact_max: int) -> IndexEntry:
    built = build_index(vectors, exact_max=exact_max)
    built.index.save(folder / file)
    return IndexEntry(file, built.index.kind, built.index.ntotal, built.index.nprobe, built.tuned_recall)


def write_library(
    target: Path,
    content: LibraryContent,
    model_fingerprint: str,
    model_path: str | None,
    source: str,
    exact_max: int = EXACT_MAX_VECTORS,
    created: str | None = None,
    reference: tuple[ReferenceEntry, bytes] | None = None,
) -> Manifest:
    """Build the indexes and write the library into a temporary folder, then swap it in as ``target``;
    ``reference``: a reference set to carry (its manifest entry and file bytes, ``index.reference``)."""
    remove_stale_temporaries(target)
    tmp = new_temp_folder(target)
    ecg_entry = _index_entry(content.ecg_embeds, tmp, ECG_INDEX_FILE, exact_max)
    report_entry = None
    if len(content.report_embeds):
        report_entry = _index_entry(content.report_embeds, tmp, REPORT_INDEX_FILE, exact_max)
        np.save(tmp / REPORT_ROWS_FILE, content.report_rows, allow_pickle=False)
    if content.display_copies:
        (tmp / DISPLAY_SIGNALS_FILE).write_bytes(display_signals.write(content.display_copies))
    content.rows.to_parquet(tmp / METADATA_FILE, index=False)
    if reference is not None:
        (tmp / reference[0].file).write_bytes(reference[1])
    manifest = Manifest(
        model_fingerprint=model_fingerprint,
        model_path=model_path,
        embed_dim=int(content.ecg_embeds.shape[1]),
        n_records=len(content.rows),
        n_reports=len(content.report_embeds),
        source=source,
        ecg_index=ecg_entry,
        report_index=report_entry,
        files={path.name: path.stat().st_size for path in sorted(tmp.iterdir())},
        created=created or now_iso(),
        updated=now_iso(),
        reference=reference[0] if reference is not None else None,
    )
    write_bytes_atomic(tmp / MANIFEST_FILE, manifest.to_json().encode(), durable=True)
    replace_folder(tmp, target, durable=True)
    logger.info("wrote %s: %d records (%s), %d distinct reports", target, manifest.n_records,
                ecg_entry.kind, manifest.n_reports)
    return manifest
