"""What one user is looking at: kept in ``gr.State``, never at module level."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace

import numpy as np

from melp.record import EcgRecord
from ui.ecg_plot import WINDOW_SECONDS, PaperScale


@dataclass(frozen=True)
class Highlight:
    """A sentence or prompt whose heartbeats are shaded on the trace."""

    label: str
    heartbeats: np.ndarray  # (K,) R-peak samples at the record's rate, the heartbeats scored
    similarity: np.ndarray  # (K,) cosine similarity of this text to each heartbeat


@dataclass(frozen=True)
class ScoresShown:
    """The (prompt, reading) pairs last shown for a record, for its exported page. Kept in a gr.State of its
    own, not in the session: a scoring that finished after another change (a heatmap for typed text) wrote
    its older copy of the whole session back."""

    shown_id: str  # Session.shown_id of the record scored
    readings: tuple[tuple[str, str], ...] = ()

    def for_session(self, session: "Session") -> tuple[tuple[str, str], ...]:
        return self.readings if self.shown_id == session.shown_id else ()


@dataclass(frozen=True)
class Session:
    """The current ECG and everything derived from it; replaced (never mutated) by each handler."""

    record: EcgRecord
    r_peaks: np.ndarray  # (K,) samples at record.fs: the beats numbered on the rhythm strip
    heart_rate_bpm: float | None = None
    preprocessing_steps: tuple[str, ...] = ()
    reader_notes: tuple[str, ...] = ()
    window_seconds: float = 10.0  # length of the model window the attention arrays cover
    beat_attention: np.ndarray | None = None  # (Q, T) attention of the model's learned slots over time
    caption_attention: np.ndarray | None = None  # (T,) caption-pooler attention over time
    report: str | None = None  # the text whose sentences are in the heatmap
    sentences: tuple[str, ...] = ()
    heartbeats: np.ndarray | None = None  # (K,) samples at record.fs of the heartbeats the model scored
    heartbeat_similarity: np.ndarray | None = None  # (S, K) sentence x heartbeat cosine similarity
    heartbeat_method: str = ""  # how the model related sentences to heartbeats (melp.explain)
    highlight: Highlight | None = None
    neighbour_ids: tuple[int, ...] = ()  # library rows shown in the last neighbour list
    window_start: float = 0.0  # seconds into the record of the window shown and analysed
    scale: PaperScale = PaperScale()  # layout, paper speed and gain of the drawing
    measurements: object | None = None  # melp.Measurements of the window
    # new for each record or window loaded, kept by every change made to it (ui.record_analysis.ShownRecords)
    shown_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    @property
    def window(self) -> EcgRecord:
        """The window shown and analysed: ``window_seconds`` from ``window_start`` (the whole record if shorter)."""
        record = self.record
        first = int(round(self.window_start * record.fs))
        piece = record.signal[:, first:first + int(round(self.window_seconds * record.fs))]
        suffix = f"@{self.window_start:g}s" if self.window_start else ""
        return replace(record, signal=piece, record_id=f"{record.record_id}{suffix}")

    @property
    def window_label(self) -> str:
        end = min(self.window_start + self.window_seconds, self.record.duration)
        return f"{self.window_start:g}-{end:g} s of {self.record.duration:.1f} s"


def window_starts(duration: float, seconds: float = WINDOW_SECONDS) -> float:
    """The latest start of a whole window in a record of ``duration`` seconds (0 when shorter)."""
    return max(0.0, float(np.floor(duration - seconds)))
