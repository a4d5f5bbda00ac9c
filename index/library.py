"""``Library``: open a built library and query it by ECG or by text; rows come back as plain data.

    library = Library.open("indexes/synth")             # reloads the checkpoint named in the manifest
    library.similar_ecgs(record, k=5)                   # ECG -> nearest ECGs
    library.reports_for(record, k=5)                    # ECG -> nearest distinct reports
    library.ecgs_for_text("inferior st elevation", 5)   # text -> ECGs
    library.reference_vectors()                         # what free-text percentiles rank against
    library.record(row_id)                              # EcgRecord to plot (read again or regenerated)

Readers may share one ``Library`` across threads: FAISS searches are read-only, and the lazy loads of
the indexes and the metadata table happen once, under a lock.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from index import display_signals
from index.assemble import DISPLAY_SIGNALS_FILE, ECG_INDEX_FILE, METADATA_FILE, REPORT_INDEX_FILE, REPORT_ROWS_FILE
from index.faiss_index import IndexSlot, VectorIndex
from index.manifest import Manifest, model_fingerprint
from index.sources import simulate
from melp.atomic import recover_interrupted_swap
from melp.record import EcgRecord

logger = logging.getLogger(__name__)


class LibraryMismatchError(ValueError):
    """The library was built with a different model than the one given."""


@dataclass(frozen=True)
class LibraryRow:
    """One search hit. ``score`` is the cosine similarity; ``metadata`` holds the remaining columns."""

    score: float
    row_id: int
    record_id: str
    report: str
    labels: tuple[str, ...]
    metadata: dict[str, Any] = field(default_factory=dict)


def _plain(value: Any) -> Any:
    """A parquet cell as a plain Python value (None for missing)."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    return value.item() if isinstance(value, np.generic) else value


def _rebuild_command(folder: Path, manifest: Manifest, model_path: str | None) -> str:
    model_flag = f" --model {model_path}" if model_path else ""
    return f"python -m index.build --source {manifest.source} --out {folder}{model_flag} --force"


def _load_model(manifest: Manifest) -> Any:
    import melp

    if manifest.model_path and Path(manifest.model_path).exists():
        return melp.load(manifest.model_path)
    return melp.load()


class Library:
    """A read-only view of one library folder plus the model that embeds queries."""

    def __init__(self, folder: Path, manifest: Manifest, model: Any) -> None:
        self.folder = folder
        self.manifest = manifest
        self.model = model
        self._ecg = IndexSlot(folder / ECG_INDEX_FILE, manifest.ecg_index.kind, manifest.ecg_index.nprobe)
        report = manifest.report_index
        self._report = None if report is None else IndexSlot(folder / REPORT_INDEX_FILE, report.kind, report.nprobe)
        self._lock = threading.Lock()
        self._rows: pd.DataFrame | None = None
        self._report_rows: np.ndarray | None = None
        self._display: list[np.ndarray] | None = None
        self._reference: np.ndarray | None = None

    @classmethod
    def open(cls, folder: str | Path, model: Any = None, force: bool = False) -> "Library":
        """Open a library; refuses one built with another model unless ``force`` (experts only)."""
        folder = Path(folder)
        recover_interrupted_swap(folder)
        manifest = Manifest.read(folder)
        manifest.check_files(folder)
        model = model if model is not None else _load_model(manifest)
        found = model_fingerprint(model)
        if found != manifest.model_fingerprint:
            message = (
                f"{folder}: built with model {manifest.model_fingerprint} "
                f"({manifest.model_path or 'the default checkpoint'}), but the model given has fingerprint "
                f"{found}; its embeddings are not comparable. Rebuild with: "
                f"{_rebuild_command(folder, manifest, manifest.model_path)}"
            )
            if not force:
                raise LibraryMismatchError(message + " (or open with force=True / --force, experts only)")
            logger.warning("opening anyway (force): %s", message)
        return cls(folder, manifest, model)

    def __len__(self) -> int:
        return self.manifest.n_records

    # ----- lazy, shared state -----
    def _metadata(self) -> tuple[pd.DataFrame, np.ndarray]:
        if self._rows is None:
            with self._lock:
                if self._rows is None:
                    report_rows_path = self.folder / REPORT_ROWS_FILE
                    self._report_rows = (np.load(report_rows_path, allow_pickle=False)
                                         if report_rows_path.exists() else np.zeros(0, np.int64))
                    self._rows = pd.read_parquet(self.folder / METADATA_FILE)
        return self._rows, self._report_rows

    def ecg_index(self) -> VectorIndex:
        return self._ecg.get()

    def report_index(self) -> VectorIndex | None:
        """One vector per distinct report (None when no record has a report)."""
        return None if self._report is None else self._report.get()

    def reference_vectors(self) -> np.ndarray:
        """(M, D) ECG vectors that free-text percentiles rank against: the library's reference set
        (``index.reference``) when it has one, else its own ECG vectors."""
        if self._reference is None:
            with self._lock:
                if self._reference is None:
                    from index.reference import read_reference

                    found = read_reference(self.folder, self.manifest)
                    self._reference = found if found is not None else self.ecg_index().vectors()
        return self._reference

    def reference_description(self) -> str:
        """What the reference ECGs are, in words (for the app and the About text)."""
        entry = self.manifest.reference
        if entry is None:
            return f"the library's {self.manifest.n_records:,} ECGs"
        return f"{entry.count:,} reference ECGs ({entry.source})"

    def table(self) -> pd.DataFrame:
        """A copy of the metadata table (one row per record, row_id = position)."""
        return self._metadata()[0].copy()

    # ----- rows -----
    def row(self, row_id: int, score: float = float("nan")) -> LibraryRow:
        rows, _ = self._metadata()
        if not 0 <= row_id < len(rows):
            raise IndexError(f"{self.folder}: row {row_id} out of range; the library has {len(rows)} rows")
        cells = {name: _plain(value) for name, value in rows.iloc[row_id].items()}
        labels = tuple(cells.pop("labels") if cells.get("labels") is not None else ())
        return LibraryRow(float(score), int(cells.pop("row_id")), str(cells.pop("record_id")),
                          str(cells.pop("report") or ""), labels, cells)

    def _hits(self, scores: np.ndarray, row_ids: np.ndarray) -> list[LibraryRow]:
        return [self.row(int(row_id), float(score)) for score, row_id in zip(scores, row_ids) if row_id >= 0]

    # ----- queries -----
    def _search_ecgs(self, query: np.ndarray, k: int) -> list[LibraryRow]:
        scores, ids = self.ecg_index().search(query, k)  # (1, k), (1, k)
        return self._hits(scores[0], ids[0])

    def similar_ecgs(self, record: EcgRecord, k: int = 5) -> list[LibraryRow]:
        """The k library ECGs closest to ``record`` (a record from the library finds itself first)."""
        return self._search_ecgs(self.model.encode_ecg([record]), k)  # (1, D)

    def ecgs_for_text(self, text: str, k: int = 5) -> list[LibraryRow]:
        """The k library ECGs whose embeddings are closest to the text's."""
        return self._search_ecgs(self.model.encode_text([text]), k)  # (1, D)

    def reports_for(self, record: EcgRecord, k: int = 5) -> list[LibraryRow]:
        """The k distinct library reports closest to ``record``; each row is the first record with that
        report, and ``metadata["n_records_with_report"]`` counts the records sharing it."""
        if self._report is None:
            return []
        rows, report_rows = self._metadata()
        scores, groups = self.report_index().search(self.model.encode_ecg([record]), k)  # (1, k), (1, k)
        found = groups[0] >= 0
        hits = self._hits(scores[0][found], report_rows[groups[0][found]])
        row_groups = rows["report_group"].to_numpy()  # (N,) -1 where a record has no report
        counts = np.bincount(row_groups[row_groups >= 0], minlength=len(report_rows))  # (R,)
        return [replace(hit, metadata={**hit.metadata, "n_records_with_report": int(counts[group])})
                for hit, group in zip(hits, groups[0][found])]

    def display_copy_bytes(self, position: int) -> bytes:
        """The raw (8, T) int16 bytes of one display copy (for rewriting the library with more rows)."""
        return self._display_copy(position).tobytes()

    def _display_copy(self, position: int) -> np.ndarray:
        if self._display is None:
            with self._lock:
                if self._display is None:
                    self._display = display_signals.read((self.folder / DISPLAY_SIGNALS_FILE).read_bytes())
        return self._display[position]

    def record(self, row_id: int) -> EcgRecord:
        """The row's ECG: the library's own display copy, read again from its source file, or regenerated
        from its synthetic seed."""
        row = self.row(row_id)
        path, seed, index = (row.metadata.get(key) for key in ("source_path", "synth_seed", "synth_index"))
        display_row = row.metadata.get("display_row")
        if display_row is not None and display_row >= 0:
            record = display_signals.decode(self._display_copy(int(display_row)), row.record_id)
        elif path and Path(path).exists():
            import melp

            record = melp.read_ecg(path)
        elif seed is not None and index is not None:
            record = simulate(int(seed), int(index))
        else:
            raise FileNotFoundError(
                f"{self.folder}: row {row_id} ({row.record_id}) was read from {path}, which no longer exists "
                "and has no synthetic seed; restore the file or rebuild the library"
            )
        return replace(record, record_id=row.record_id, report=row.report or record.report, labels=row.labels)
