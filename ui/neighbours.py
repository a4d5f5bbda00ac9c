"""Library search results -> cards with a small lead II thumbnail, report, labels and score."""
from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

import numpy as np

THUMB_WIDTH_PX, THUMB_HEIGHT_PX = 240, 56
THUMB_POINTS = 400  # polyline vertices per thumbnail
THUMB_SECONDS = 10.0
REPORT_PREVIEW_CHARS = 240
MAX_LABELS_SHOWN = 8
CARD_STYLE = ("display:inline-block;vertical-align:top;width:260px;margin:4px;padding:8px;border:1px solid #ddd;"
              "border-radius:8px;background:#fff;font-size:12px;line-height:1.35;color:#222")


@dataclass(frozen=True)
class Neighbour:
    """One search result as the UI shows it."""

    rank: int
    row_id: int
    record_id: str
    score: float
    report: str
    labels: tuple[str, ...]
    rhythm: np.ndarray | None  # (T,) lead II in mV, or None when the library holds no signal
    fs: float | None
    origin: str = "real"  # "real", "real (PTB-XL)" or "simulated": said on every card

    @property
    def choice_label(self) -> str:
        return f"#{self.rank} {self.record_id} ({self.score:.3f})"


def neighbour_from_row(rank: int, row: Any, rhythm: np.ndarray | None, fs: float | None) -> Neighbour:
    """A library row (score, row_id, record_id, report, labels) plus its lead II for the thumbnail."""
    origin = (row.metadata or {}).get("origin") or ("simulated" if (row.metadata or {}).get("synth_seed") is not None
                                                      else "real")
    return Neighbour(rank=rank, row_id=int(row.row_id), record_id=str(row.record_id), score=float(row.score),
                     report=str(row.report or ""), labels=tuple(str(label) for label in (row.labels or ())),
                     rhythm=None if rhythm is None else np.asarray(rhythm, dtype=np.float64), fs=fs, origin=str(origin))


def thumbnail_svg(rhythm: np.ndarray, fs: float) -> str:
    """A small inline SVG polyline of up to 10 s of one lead, scaled to fit."""
    samples = rhythm[: int(THUMB_SECONDS * fs)]
    if samples.size < 2:
        return ""
    index = np.linspace(0, samples.size - 1, min(THUMB_POINTS, samples.size)).astype(int)
    values = samples[index]
    low, high = float(values.min()), float(values.max())
    ys = THUMB_HEIGHT_PX - 2 - (values - low) / (high - low + 1e-9) * (THUMB_HEIGHT_PX - 4)
    xs = np.linspace(0, THUMB_WIDTH_PX, values.size)
    points = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys))
    return (f'<svg width="{THUMB_WIDTH_PX}" height="{THUMB_HEIGHT_PX}" style="background:#fff7f7">'
            f'<polyline fill="none" stroke="#111" stroke-width="1" points="{points}"/></svg>')


def _card(neighbour: Neighbour) -> str:
    report = neighbour.report if len(neighbour.report) <= REPORT_PREVIEW_CHARS else neighbour.report[:REPORT_PREVIEW_CHARS] + "..."
    labels = ", ".join(neighbour.labels[:MAX_LABELS_SHOWN]) + ("..." if len(neighbour.labels) > MAX_LABELS_SHOWN else "")
    thumb = thumbnail_svg(neighbour.rhythm, neighbour.fs) if neighbour.rhythm is not None and neighbour.fs else ""
    badge_colour = "#1f7a3a" if neighbour.origin.startswith("real") else "#8a5a00"
    return (f'<div class="melp-card" style="{CARD_STYLE}">'
            f'<div style="display:flex;flex-wrap:wrap;justify-content:space-between;gap:4px">'
            f"<b>#{neighbour.rank} {html.escape(neighbour.record_id)}</b><span>similarity {neighbour.score:.3f}</span></div>"
            f'<span class="melp-origin" style="color:{badge_colour};font-weight:600">{html.escape(neighbour.origin)} ECG</span>'
            f"<br>{thumb}<br>{html.escape(report) or '<i>no report</i>'}<br>"
            f"<span style='color:#555'>{html.escape(labels)}</span></div>")


def cards_html(neighbours: list[Neighbour], empty_message: str) -> str:
    """All result cards in a wrapping row."""
    if not neighbours:
        return f"<p>{html.escape(empty_message)}</p>"
    return "<div>" + "".join(_card(neighbour) for neighbour in neighbours) + "</div>"


def suggestions_markdown(rows: list[Any]) -> str:
    """Library reports closest to this ECG, as a numbered list."""
    if not rows:
        return "No report suggestions."
    lines = [f"{rank}. {row.report} *(score {float(row.score):.3f}, {row.record_id})*" for rank, row in enumerate(rows, start=1)]
    return "**Reports closest to this ECG**\n\n" + "\n".join(lines)
