"""Encode once, score many: what the ECG tower says about a set of records, kept as arrays.

``model.embed(records)`` runs the tower once and returns ``EcgEmbeddings``; ``zero_shot``,
``findings``, ``encode_ecg`` and ``features`` accept it in place of records, so scoring several prompt
sets (or probing) never encodes the same records twice. The identity behind it, for a single window:

    model.zero_shot(records, prompts) == model.encode_ecg(records) @ model.class_embeddings(prompts).T
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class EcgEmbeddings:
    """Per record: the rhythm embedding of each window (W_i, E), their normalised mean (N, E), and the
    probe features (N, E) (pre-projection beats averaged over queries and windows)."""

    rhythm: np.ndarray  # (N, E) L2-normalised, as encode_ecg returns
    features: np.ndarray  # (N, E) as features returns
    windows: tuple[np.ndarray, ...]  # N arrays (W_i, E): each window's rhythm embedding
    record_ids: tuple[str, ...]
    window: str  # "first" or "all": which windows were encoded
    model_fingerprint: str  # embeddings are only comparable with the model that made them

    def __len__(self) -> int:
        return len(self.record_ids)

    def check_model(self, fingerprint: str) -> None:
        if fingerprint != self.model_fingerprint:
            raise ValueError(f"these embeddings were made by model {self.model_fingerprint}, not by this one "
                             f"({fingerprint}); embed the records again with this model")

    def per_window(self, window: str) -> list[np.ndarray]:
        """Each record's (W, E) windows as a ``window`` mode ("first", "all", "best") asks for them."""
        if window == "first":
            return [windows[:1] for windows in self.windows]
        if self.window != "all":
            raise ValueError(f"window={window!r} needs embeddings of every window; call model.embed(records, "
                             f"window='all') (these hold only the {self.window!r} window)")
        return list(self.windows)

    def subset(self, rows: np.ndarray) -> "EcgEmbeddings":
        """The embeddings of ``rows`` (indices or a boolean mask), in that order."""
        positions = np.arange(len(self))[rows]
        return EcgEmbeddings(self.rhythm[positions], self.features[positions],
                             tuple(self.windows[i] for i in positions), tuple(self.record_ids[i] for i in positions),
                             self.window, self.model_fingerprint)
