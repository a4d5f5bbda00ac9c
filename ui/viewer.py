"""Viewer handlers: layout, paper speed and gain, the window of a long record, export, and comparison.

Module-level functions of plain values (no torch); the library arrives as an argument.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import gradio as gr

from ui import uploads
from ui.ecg_plot import PaperScale
from ui.errors import plain, user_errors
from ui.export import write_page
from ui.handlers import DEFAULT_FS_HINT, figure_for, new_session, read_with_notes, record_panel, require_session
from ui.record_info import measurement_rows
from ui.session import ScoresShown, Session

MAX_SCORES_EXPORTED = 6


@user_errors("change the view")
def set_scale(session: Session | None, layout: str, speed: float, gain: float, overlays_on: list[str], query: float):
    """(session, figure) drawn in another layout, paper speed or gain (no model call)."""
    session = require_session(session)
    session = replace(session, scale=PaperScale(layout, float(speed), float(gain)))
    return session, figure_for(session, overlays_on or (), int(query or 1))


@user_errors("move to another window")
def set_window(session: Session | None, start: float, preprocess_config: Any | None = None):
    """(session, record markdown, figure) for the window starting ``start`` seconds into the record; the
    analysis panels follow with the chained events (they run on the window)."""
    session = require_session(session)
    moved = new_session(session.record, session.reader_notes, preprocess_config, float(start or 0.0), session.scale)
    return moved, record_panel(moved), figure_for(moved)


def window_slider(session: Session) -> dict:
    """The window slider's range for this record (whole windows only; disabled for a record of one window)."""
    latest = max(session.record.duration - session.window_seconds, 0.0)
    return gr.update(maximum=max(latest, 0.1), value=session.window_start, interactive=latest > 0,
                     label=f"Window start (s): showing {session.window_label}")


def _summary_lines(session: Session, report: str | None, scores: ScoresShown | None) -> list[str]:
    rows = measurement_rows(session.measurements) if session.measurements is not None else []
    lines = ["Measurements: " + "; ".join(f"{label} {value}" for label, value, _ in rows)]
    readings = scores.for_session(session) if scores is not None else ()
    if readings:
        shown = ", ".join(f"{prompt} {reading}" for prompt, reading in readings[:MAX_SCORES_EXPORTED])
        lines.append(f"Scores shown: {shown}")
    if report:
        lines.append(f"Report shown: {report}")
    return lines


@user_errors("export the ECG")
def export_page(session: Session | None, paper: str, report: str | None = None, scores: ScoresShown | None = None,
                kind: str = "pdf") -> str:
    """The current window as a true-scale page (PDF or PNG), named after the record, with the scores (of
    this record) and report on screen."""
    session = require_session(session)
    title = f"{session.record.record_id} ({session.window_label})"
    path = write_page(session.window, title, _summary_lines(session, report, scores), kind, paper)
    return str(path)


def _other_record(row_id: float | None, files: list[str] | None, fs_hint: float | None, units: str | None,
                  library: Any | None):
    if files:
        folder = uploads.new_upload_folder()
        paths = [files] if isinstance(files, (str, Path)) else list(files)
        try:
            uploads.stage_upload(paths, folder)
            path = uploads.pick_record(folder)
            needs_fs = path.suffix.lower() in uploads.NEEDS_FS_SUFFIXES
            record, _ = read_with_notes(path, float(fs_hint or DEFAULT_FS_HINT) if needs_fs else None, units)
            return replace(record, source=path.name)
        finally:
            uploads.remove_upload_folder(folder)
            uploads.discard_uploaded(paths)
    if row_id is None or library is None:
        raise gr.Error("Choose a library result (Similar ECGs) or upload a second ECG to compare with.")
    return library.record(int(row_id))


def comparison_markdown(first: Session, second: Session) -> str:
    rows_a, rows_b = measurement_rows(first.measurements), measurement_rows(second.measurements)
    values_b = {label: value for label, value, _ in rows_b}
    lines = [f"| | {plain(first.record.record_id)} | {plain(second.record.record_id)} |", "|---|---|---|"]
    lines += [f"| {label} | {value} | {values_b.get(label, 'not measurable')} |" for label, value, _ in rows_a]
    return "\n".join(lines)


@user_errors("compare the ECGs")
def compare(session: Session | None, row_id: float | None, files: list[str] | None, fs_hint: float | None,
            units: str | None, library: Any | None, preprocess_config: Any | None = None):
    """(current figure, other figure, both measurement tables): the same scale, leads and window length."""
    session = require_session(session)
    other = new_session(_other_record(row_id, files, fs_hint, units, library), (), preprocess_config, 0.0, session.scale)
    return figure_for(session), figure_for(other), comparison_markdown(session, other)

