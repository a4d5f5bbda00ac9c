"""A library's reference population: the ECG embeddings free-text percentiles are ranked against.

A typed prompt that is not a calibrated statement is read as "higher than N % of reference ECGs". With
a few thousand rows, the library's own ECGs leave that percentile a few points of sampling noise, so a
library may carry a larger reference set of embeddings only (no waveforms, no metadata):
``reference_vectors.npy``, (M, D) float16 unit vectors, listed in the manifest under ``reference``.
A library without one ranks against its own ECG vectors.

    python -m index.reference --library index/default --source ptbxl-train:PTBXL:17418 [--model PATH]

The library folder is copied, the vectors added and the manifest rewritten in the copy, then the copy
is swapped in (``melp.atomic``), so an interrupted run leaves the library as it was. Embedding is
resumable: each chunk of records lands in ``<library>.referencing`` (``index.storage.ShardStore``), and the
same command run again after a kill embeds only the chunks not yet there (a different source or model
starts over); the work folder is removed once the reference set is in the library.
"""
from __future__ import annotations

import io
import logging
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from index.embed import DEFAULT_BATCH_SIZE, embed_into_store, read_all_shards, shard_count
from index.commands import library_command
from index.manifest import MANIFEST_FILE, Manifest, ReferenceEntry, model_fingerprint, now_iso
from index.sources import parse_source
from index.storage import ShardStore
from melp.atomic import new_temp_folder, remove_stale_temporaries, replace_folder, write_bytes_atomic

logger = logging.getLogger(__name__)

REFERENCE_FILE = "reference_vectors.npy"
REFERENCE_DTYPE = np.float16  # half the bytes; a percentile moves by one or two reference ECGs at most (tests)
CHUNK_RECORDS = 256  # records read and encoded per resumable chunk (bounded memory)
WORK_SUFFIX = ".referencing"  # resumable work folder of a reference set, next to the library


def embed_source(model: Any, source: str, work: ShardStore, batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
    """(M, D) float32 ECG embeddings of every readable record of ``source`` (unreadable ones are skipped
    with a warning), embedded as a library build embeds (``index.embed``), resumably in ``work``: chunks
    already there are read back, not embedded again."""
    entries = [replace(entry, keep_signal=False) for entry in parse_source(source)]
    work.start({"kind": "reference", "source": source, "model": model_fingerprint(model),
                "chunk_records": CHUNK_RECORDS, "n_entries": len(entries)})
    embed_into_store(model, entries, work, CHUNK_RECORDS, batch_size, reports=False)
    try:
        return read_all_shards(work, shard_count(len(entries), CHUNK_RECORDS))[0]
    except ValueError:
        raise ValueError(f"--source {source!r}: no record could be read; nothing to use as a reference") from None


def read_reference(folder: Path, manifest: Manifest) -> np.ndarray | None:
    """(M, D) float32 reference vectors of a library, or None when it has none."""
    if manifest.reference is None:
        return None
    vectors = np.load(folder / manifest.reference.file, allow_pickle=False)
    if vectors.ndim != 2 or vectors.shape != (manifest.reference.count, manifest.embed_dim):
        raise ValueError(f"{folder / manifest.reference.file}: expected ({manifest.reference.count}, "
                         f"{manifest.embed_dim}) vectors, found {vectors.shape}; rebuild it with python -m "
                         f"index.reference --library {folder} --source {manifest.reference.source}")
    return vectors.astype(np.float32)


def reference_file(vectors: np.ndarray, source: str) -> tuple[ReferenceEntry, bytes]:
    """(manifest entry, bytes of ``reference_vectors.npy``) for reference vectors (M, D) from ``source``."""
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(vectors).astype(REFERENCE_DTYPE), allow_pickle=False)
    return ReferenceEntry(REFERENCE_FILE, len(vectors), source), buffer.getvalue()


def write_reference(folder: str | Path, vectors: np.ndarray, source: str) -> Manifest:
    """Put ``vectors`` (M, D) into the library ``folder`` as its reference set, atomically."""
    folder = Path(folder)
    manifest = Manifest.read(folder)
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or vectors.shape[1] != manifest.embed_dim:
        raise ValueError(f"reference vectors of shape {vectors.shape} do not fit {folder} "
                         f"(embedding size {manifest.embed_dim})")
    remove_stale_temporaries(folder)
    tmp = new_temp_folder(folder)
    for name in manifest.files:
        if name != REFERENCE_FILE:
            shutil.copy2(folder / name, tmp / name)
    entry, stored = reference_file(vectors, source)
    (tmp / REFERENCE_FILE).write_bytes(stored)
    files = {name: size for name, size in manifest.files.items() if name != REFERENCE_FILE}
    manifest = replace(manifest, reference=entry, files={**files, REFERENCE_FILE: len(stored)}, updated=now_iso())
    write_bytes_atomic(tmp / MANIFEST_FILE, manifest.to_json().encode(), durable=True)
    replace_folder(tmp, folder, durable=True)
    logger.info("%s: reference set of %d ECGs from %s", folder, len(vectors), source)
    return manifest


def add_reference(library_dir: str | Path, source: str, model: Any, batch_size: int = DEFAULT_BATCH_SIZE,
                  source_label: str | None = None, force: bool = False) -> Manifest:
    """Embed ``source`` with the library's model and make it the library's reference set.
    ``source_label`` is what the manifest records (e.g. without the builder's own paths)."""
    from index.library import Library

    library = Library.open(library_dir, model, force)  # refuses another model's library
    work = ShardStore(library.folder.with_name(library.folder.name + WORK_SUFFIX))
    manifest = write_reference(library.folder, embed_source(model, source, work, batch_size), source_label or source)
    work.discard()
    return manifest


def main(argv: list[str] | None = None) -> None:
    args, model = library_command(argv, "python -m index.reference", __doc__.split("\n\n")[0],
                                  "embed with this model even if the library's fingerprint differs")
    manifest = add_reference(args.library, args.source, model, args.batch_size, force=args.force)
    logger.info("library %s: %d reference ECGs", args.library, manifest.reference.count)


if __name__ == "__main__":
    main()
