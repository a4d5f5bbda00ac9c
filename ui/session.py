"""What one user is looking at: kept in ``gr.State``, never at module level."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from melp.record import EcgRecord


@dataclass(frozen=True)
class Highlight:
    """A sentence or prompt whose heartbeats are shaded on the trace."""

    label: str
    heartbeats: np.ndarray  # (K,) R-peak samples at the record's rate, the heartbeats scored
    similarity: np.ndarray  # (K,) cosine similarity of this text to each heartbeat


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
