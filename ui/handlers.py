"""Record handlers: load an upload, an example or a library row, redraw the trace, browse the library.

Module-level functions of plain values, testable without a browser. The model and library arrive as
arguments (app.py binds them once); per-user data is the ``Session`` kept in ``gr.State``.
"""
from __future__ import annotations

import logging
import threading
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np
import plotly.graph_objects as go

import melp
from melp.record import EcgRecord
from ui import overlays, uploads
from ui.ecg_plot import PaperScale, ecg_figure
from ui.errors import user_errors
from ui.neighbours import Neighbour, cards_html, neighbour_from_row, suggestions_markdown
from ui.record_info import record_markdown
from ui.session import Session, window_starts

logger = logging.getLogger(__name__)

OVERLAY_QUERY = "Attention of one learned slot"
OVERLAY_CAPTION = "Caption attention strip"
OVERLAY_CHOICES = (OVERLAY_QUERY, OVERLAY_CAPTION)
DEFAULT_FS_HINT = 500.0  # for .npy/.npz/.csv files that carry no sampling rate
NO_LIBRARY = "No library loaded: start the app with --library DIR (see index/) to browse similar ECGs."
READER_LOGGERS = ("melp.data",)  # their INFO/WARNING lines during a read become "reader notes"
RHYTHM_LEAD = "II"  # the lead of the library thumbnails


class _ThreadNotes(logging.Handler):
    """Collects log lines emitted by the reader on the current thread only (requests run in threads)."""

    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.thread_id = threading.get_ident()
        self.notes: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread_id:
            self.notes.append(record.getMessage().split(": ", 1)[-1])


def read_with_notes(path: Path, fs: float | None, units: str | None = None) -> tuple[EcgRecord, tuple[str, ...]]:
    """melp.read_ecg plus the reader's own notes (derived leads, repairs) for the record panel.

    Amplitudes no ECG has (microvolts read as millivolts) are refused with the control to change, rather
    than drawn: the person chose the units, not us.
    """
    collector = _ThreadNotes()
    targets = [logging.getLogger(name) for name in READER_LOGGERS]
    for target in targets:
        target.addHandler(collector)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", melp.EcgReadWarning)
            record = melp.read_ecg(path, fs=fs, units=units if path.suffix.lower() in uploads.NEEDS_FS_SUFFIXES else None)
    finally:
        for target in targets:
            target.removeHandler(collector)
    if any("probably microvolts" in str(warning.message) for warning in caught):
        raise uploads.UploadError(
            f"{path.name}: the values are hundreds of times larger than an ECG's millivolts; they are probably "
            "microvolts. Choose 'uV' under 'Amplitude units' and upload the file again.")
    return record, tuple(collector.notes)


def new_session(record: EcgRecord, reader_notes: tuple[str, ...], preprocess_config: Any | None,
                window_start: float = 0.0, scale: PaperScale | None = None) -> Session:
    """Session for a record (and the window of it chosen): beats numbered over the whole record, the
    window's measurements and the preprocessing account."""
    seconds = preprocess_config.seconds if preprocess_config is not None else melp.PreprocessConfig().seconds
    beat_info = melp.beats(record)
    session = Session(record=record, r_peaks=np.asarray(beat_info.r_peaks, dtype=int),
                      heart_rate_bpm=float(beat_info.heart_rate) if np.isfinite(beat_info.heart_rate) else None,
                      reader_notes=reader_notes, window_seconds=float(seconds),
                      window_start=min(max(float(window_start), 0.0), window_starts(record.duration, float(seconds))),
                      scale=scale or PaperScale())
    window = session.window
    return replace(session, preprocessing_steps=melp.preprocess(window, preprocess_config).steps,
                   measurements=melp.measure(window))


def record_panel(session: Session) -> str:
    return record_markdown(session.record, session.preprocessing_steps, session.reader_notes,
                           session.measurements, session.window_label)


def figure_for(session: Session, overlays_on: list[str] | tuple[str, ...] = (), query: int = 1) -> go.Figure:
    """The 12-lead figure: a chosen sentence's or prompt's heartbeats shaded green whenever one is chosen,
    and the overlays switched on (query is 1-based, as shown in the UI)."""
    shading = heat_strip = None
    start = session.window_start
    if session.highlight is not None and session.highlight.heartbeats.size:
        shading = overlays.heartbeat_shading(session.highlight.heartbeats, session.highlight.similarity,
                                             session.record.fs, (start, start + session.window_seconds),
                                             session.highlight.label)
    elif OVERLAY_QUERY in overlays_on and session.beat_attention is not None:
        query_index = int(np.clip(int(query) - 1, 0, session.beat_attention.shape[0] - 1))
        shading = overlays.query_shading(session.beat_attention, query_index, session.window_seconds, start)
    if OVERLAY_CAPTION in overlays_on and session.caption_attention is not None:
        heat_strip = overlays.caption_strip(session.caption_attention, session.window_seconds, start)
    record = session.record
    return ecg_figure(record.signal, record.fs, lead_mask=record.lead_mask, r_peaks=session.r_peaks,
                      shading=shading, heat_strip=heat_strip, title=record.record_id, scale=session.scale,
                      start_s=start)


def redraw_if_overlaid(session: Session | None, overlays_on: list[str], query: float):
    """After a record was just drawn plain (upload, example, window): re-plot only when an overlay is on.

    Its analysis leaves nothing highlighted, so without overlays the figure would be the one the panel
    already shows; skipping it saves sending and re-rendering a ~0.4 MB figure (about 0.3 s a record,
    measured in Chromium by benchmarks/bench_browser.py)."""
    if session is None or not overlays_on:
        return gr.skip()
    return redraw(session, overlays_on, query)


@user_errors("read the uploaded ECG")
def load_upload(files: list[str] | str | None, fs_hint: float | None, units: str | None = None,
                preprocess_config: Any | None = None):
    """Uploaded file(s) -> (session, record markdown, figure); every refusal is a gr.Error with the reason.

    The uploaded files are deleted once read, whatever happens: the record lives on in the session only.
    (Two sessions uploading the same file share gradio's copy; the second reads it from memory,
    ui.uploads._readable.)
    """
    if not files:
        raise gr.Error("Upload an ECG first: " + uploads.ACCEPTED)
    paths = [files] if isinstance(files, (str, Path)) else list(files)
    folder = uploads.new_upload_folder()
    try:
        uploads.stage_upload(paths, folder)
        record_path = uploads.pick_record(folder)
        needs_fs = record_path.suffix.lower() in uploads.NEEDS_FS_SUFFIXES
        record, notes = read_with_notes(record_path, float(fs_hint or DEFAULT_FS_HINT) if needs_fs else None,
                                        units or None)
        record = replace(record, source=record_path.name)
        session = new_session(record, notes, preprocess_config)
    finally:
        uploads.remove_upload_folder(folder)
        uploads.discard_uploaded(paths)
    return session, record_panel(session), figure_for(session)


@user_errors("open the ECG")
def load_record(record: EcgRecord, preprocess_config: Any | None = None):
    """An in-memory record (example or library row) -> (session, record markdown, figure)."""
    session = new_session(record, (), preprocess_config)
    return session, record_panel(session), figure_for(session)


def require_session(session: Session | None) -> Session:
    if session is None:
        raise gr.Error("Load an ECG first (upload a file, pick an example or open a library result).")
    return session


@user_errors("redraw the ECG")
def redraw(session: Session | None, overlays_on: list[str], query: float):
    """Re-plot the current ECG with the chosen overlays (no model call)."""
    if session is None:
        return None
    return figure_for(session, overlays_on or (), int(query or 1))


def _neighbour_list(rows: list[Any], library: Any) -> list[Neighbour]:
    neighbours = []
    for rank, row in enumerate(rows, start=1):
        record = library.record(row.row_id)
        rhythm = record.lead(RHYTHM_LEAD) if record is not None else None
        neighbours.append(neighbour_from_row(rank, row, rhythm, record.fs if record is not None else None))
    return neighbours


def _choices(neighbours: list[Neighbour]):
    choices = [(neighbour.choice_label, neighbour.row_id) for neighbour in neighbours]
    return gr.update(choices=choices, value=choices[0][1] if choices else None)


@user_errors("find similar ECGs")
def similar_ecgs(session: Session | None, k: float, library: Any | None):
    """(cards html, report suggestions markdown, choices for 'open') of the k nearest library ECGs."""
    session = require_session(session)
    if library is None:
        return f"<p>{NO_LIBRARY}</p>", NO_LIBRARY, gr.update(choices=[], value=None)
    rows = library.similar_ecgs(session.window, int(k))
    suggestions = library.reports_for(session.window, int(k))
    neighbours = _neighbour_list(rows, library)
    return cards_html(neighbours, "The library is empty."), suggestions_markdown(suggestions), _choices(neighbours)


@user_errors("search the library")
def text_search(query: str, k: float, library: Any | None):
    """(cards html, choices) of library ECGs matching a free-text description."""
    if not (query or "").strip():
        raise gr.Error("Type a description to search for, e.g. 'inferior ST elevation'.")
    if library is None:
        return f"<p>{NO_LIBRARY}</p>", gr.update(choices=[], value=None)
    neighbours = _neighbour_list(library.ecgs_for_text(query.strip(), int(k)), library)
    return cards_html(neighbours, f"No ECGs found for {query!r}."), _choices(neighbours)


@user_errors("open the library ECG")
def open_library_row(row_id: float | None, library: Any | None, preprocess_config: Any | None = None):
    """A library row (chosen from neighbours or search results) becomes the current ECG."""
    if library is None:
        raise gr.Error(NO_LIBRARY)
    if row_id is None:
        raise gr.Error("Pick a result to open first.")
    return load_record(library.record(int(row_id)), preprocess_config)
