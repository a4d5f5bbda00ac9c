"""Append records to an existing library, atomically.

    python -m index.add --library indexes/synth --source folder:new_ecgs [--model PATH]

Only the new records are embedded (resumably, in ``<library>.adding``); the existing vectors are read
back from the library's own indexes, the indexes rebuilt over old + new (the type follows the new
size), and the new folder swapped in. Row ids of existing records do not change. Records already in
the library (same source file, or same synthetic seed and index) are skipped.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from index.assemble import library_content, write_library
from index.commands import library_command
from index.embed import DEFAULT_BATCH_SIZE, DEFAULT_SHARD_SIZE, embed_into_store, read_all_shards, shard_count
from index.faiss_index import EXACT_MAX_VECTORS
from index.library import Library
from index.manifest import Manifest, model_fingerprint
from index.reference import read_reference, reference_file
from index.sources import parse_source
from index.storage import ShardStore

logger = logging.getLogger(__name__)

ADD_WORK_SUFFIX = ".adding"
DERIVED_COLUMNS = ("row_id", "report_group", "display_row")  # recomputed by library_content
SEED_KEY_STRIDE = 1 << 32  # (seed, index) -> seed * stride + index; corpus indices stay below 2**32


def _existing(library: Library) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """(rows without derived columns, ECG vectors (N, D), report vectors per row (N, D) NaN where none)."""
    rows = library.table()
    ecg_embeds = library.ecg_index().vectors()  # (N, D)
    report_by_row = np.full_like(ecg_embeds, np.nan)  # (N, D)
    report_index = library.report_index()
    if report_index is not None:
        report_vectors = report_index.vectors()  # (R, D)
        groups = rows["report_group"].to_numpy()
        report_by_row[groups >= 0] = report_vectors[groups[groups >= 0]]
    display_rows = rows["display_row"] if "display_row" in rows else pd.Series([-1] * len(rows))
    rows["display_signal"] = [library.display_copy_bytes(int(row)) if row >= 0 else None for row in display_rows]
    return rows.drop(columns=[c for c in DERIVED_COLUMNS if c in rows]), ecg_embeds, report_by_row


def _already_present(old: pd.DataFrame, new: pd.DataFrame) -> np.ndarray:
    """(n_new,) bool: a new row whose source file or synthetic (seed, index) the library already holds."""
    paths = set(old["source_path"].dropna())
    by_path = new["source_path"].isin(paths).to_numpy()
    return by_path | np.isin(_seed_keys(new), _seed_keys(old)[_seed_keys(old) >= 0])


def _seed_keys(rows: pd.DataFrame) -> np.ndarray:
    """(N,) int64 key per row from its synthetic (seed, index); -1 where a row is not synthetic."""
    seeds = rows["synth_seed"].astype("Int64").fillna(-1).to_numpy(np.int64)
    indices = rows["synth_index"].astype("Int64").fillna(-1).to_numpy(np.int64)
    return np.where((seeds >= 0) & (indices >= 0), seeds * SEED_KEY_STRIDE + indices, -1)


def add_records(
    library_dir: str | Path,
    source: str,
    model: Any,
    batch_size: int = DEFAULT_BATCH_SIZE,
    shard_size: int = DEFAULT_SHARD_SIZE,
    force: bool = False,
    exact_max: int = EXACT_MAX_VECTORS,
    on_shard_done: Callable[[int], None] | None = None,
) -> Manifest:
    """Embed ``source`` with ``model`` (the library's own; ``force`` as in ``Library.open``) and append it."""
    library_dir = Path(library_dir)
    library = Library.open(library_dir, model, force)
    entries = parse_source(source)
    store = ShardStore(library_dir.with_name(library_dir.name + ADD_WORK_SUFFIX))
    plan = {"add_to": library.manifest.updated, "source": source, "model_fingerprint": model_fingerprint(model),
            "n_entries": len(entries), "shard_size": shard_size, "batch_size": batch_size}
    store.start(plan)
    embed_into_store(model, entries, store, shard_size, batch_size, on_shard_done=on_shard_done)
    new_ecg, new_reports, new_rows = read_all_shards(store, shard_count(len(entries), shard_size))
    old_rows, old_ecg, old_reports = _existing(library)
    keep = ~_already_present(old_rows, new_rows)
    logger.info("adding %d records from %s (%d already in the library)", int(keep.sum()), source, int((~keep).sum()))
    rows = pd.concat([old_rows, new_rows[keep]], ignore_index=True)
    ecg_embeds = np.concatenate([old_ecg, new_ecg[keep]])  # (N_old + n_new, D)
    report_embeds = np.concatenate([old_reports, new_reports[keep]])  # (N_old + n_new, D)
    content = library_content(rows, ecg_embeds, report_embeds)
    reference = read_reference(library_dir, library.manifest)  # (M, D) or None: kept across the add, same swap
    kept = reference_file(reference, library.manifest.reference.source) if reference is not None else None
    manifest = write_library(library_dir, content, library.manifest.model_fingerprint, library.manifest.model_path,
                             f"{library.manifest.source};{source}", exact_max, created=library.manifest.created,
                             reference=kept)
    store.discard()
    return manifest


def main(argv: list[str] | None = None) -> None:
    args, model = library_command(argv, "python -m index.add", __doc__.split("\n\n")[0],
                                  "append even if the model fingerprint differs")
    manifest = add_records(args.library, args.source, model, args.batch_size, force=args.force)
    logger.info("library %s now holds %d records", args.library, manifest.n_records)


if __name__ == "__main__":
    main()
