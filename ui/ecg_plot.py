"""The 12-lead ECG as a clinician reads it: 3 x 4 layout plus a lead II rhythm strip on ECG paper.

Rows 1-3 hold four 2.5 s lead segments each (I/aVR/V1/V4, II/aVL/V2/V5, III/aVF/V3/V6) on one shared
time axis, row 4 is lead II over the whole window with R peaks marked and beats numbered, and an optional
last row is the caption-attention heat strip. All rows share the x axis, so zooming one zooms all.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from melp.record import STANDARD_LEADS

DISPLAY_SECONDS = 10.0  # the printed 12-lead window
SEGMENT_SECONDS = 2.5  # each lead of the 3 x 4 layout shows a quarter of the window
LAYOUT_ROWS: tuple[tuple[str, ...], ...] = (
    ("I", "aVR", "V1", "V4"),
    ("II", "aVL", "V2", "V5"),
    ("III", "aVF", "V3", "V6"),
)
RHYTHM_LEAD = "II"
RHYTHM_TRACE_NAME = "II (rhythm)"
R_PEAK_TRACE_NAME = "R peaks"
MAX_PLOT_FS = 500.0  # faster records are decimated for display only
# ECG paper: 25 mm/s and 10 mm/mV, so 0.2 s and 0.5 mV share one 5 mm major square.
MAJOR_SECONDS, MINOR_SECONDS = 0.2, 0.04
MAJOR_MV, MINOR_MV = 0.5, 0.1
MM_PER_SECOND, MM_PER_MV = 25.0, 10.0
PAPER_COLOUR = "#fff7f7"
MAJOR_GRID_COLOUR = "rgba(220, 60, 60, 0.45)"
MINOR_GRID_COLOUR = "rgba(220, 60, 60, 0.15)"
TRACE_COLOUR = "#111111"
MIN_ROW_RANGE_MV = (-1.0, 1.5)  # every row shows at least this much, as a printed strip does
ROW_MARGIN_MV = 0.2
PLOT_WIDTH_PX = 1100  # height is derived from it so squares stay square
STRIP_HEIGHT_PX = 36
MARGIN_PX = dict(l=30, r=20, t=40, b=40)
SECONDS_PER_LABEL = 1.0


@dataclass(frozen=True)
class Shading:
    """Weights over time drawn as coloured shading behind the traces."""

    times: np.ndarray  # (N,) seconds
    weights: np.ndarray  # (N,) in [0, 1]
    rgb: tuple[int, int, int]
    label: str


@dataclass(frozen=True)
class HeatStrip:
    """Weights over time drawn as a separate heat strip under the rhythm strip."""

    times: np.ndarray  # (N,) seconds
    weights: np.ndarray  # (N,)
    label: str


def _display_signal(signal: np.ndarray, fs: float) -> tuple[np.ndarray, float]:
    """Crop to the display window and decimate fast records; returns ((12, T'), display fs)."""
    step = max(1, int(np.floor(fs / MAX_PLOT_FS)))
    n_window = int(round(min(DISPLAY_SECONDS, signal.shape[1] / fs) * fs))
    return signal[:, :n_window:step], fs / step


def _row_range(values: np.ndarray) -> tuple[float, float]:
    """Y range of one row in mV, snapped to major squares and never smaller than a printed strip."""
    finite = values[np.isfinite(values)]
    low = float(finite.min()) - ROW_MARGIN_MV if finite.size else MIN_ROW_RANGE_MV[0]
    high = float(finite.max()) + ROW_MARGIN_MV if finite.size else MIN_ROW_RANGE_MV[1]
    low = min(MIN_ROW_RANGE_MV[0], np.floor(low / MAJOR_MV) * MAJOR_MV)
    high = max(MIN_ROW_RANGE_MV[1], np.ceil(high / MAJOR_MV) * MAJOR_MV)
    return float(low), float(high)


def _row_values(signal: np.ndarray, fs: float, row: int) -> np.ndarray:
    """Samples of the segments shown in a layout row (or the rhythm lead for the last row)."""
    if row == len(LAYOUT_ROWS):
        return signal[STANDARD_LEADS.index(RHYTHM_LEAD)]
    pieces = []
    for column, lead in enumerate(LAYOUT_ROWS[row]):
        start, stop = int(column * SEGMENT_SECONDS * fs), int((column + 1) * SEGMENT_SECONDS * fs)
        pieces.append(signal[STANDARD_LEADS.index(lead), start:stop])
    return np.concatenate(pieces)


def _paper_axes(fig: go.Figure, n_rows: int, window: float) -> None:
    """ECG-paper grid on every signal row; time labels once a second on the bottom row only."""
    for row in range(1, n_rows + 1):
        fig.update_xaxes(
            row=row, col=1, range=[0, window], dtick=MAJOR_SECONDS, showgrid=True, gridcolor=MAJOR_GRID_COLOUR,
            minor=dict(dtick=MINOR_SECONDS, showgrid=True, gridcolor=MINOR_GRID_COLOUR),
            showticklabels=row == n_rows, ticklabelstep=int(round(SECONDS_PER_LABEL / MAJOR_SECONDS)),
            zeroline=False, ticksuffix=" s",
        )


def _add_lead_segments(fig: go.Figure, signal: np.ndarray, mask: np.ndarray, fs: float) -> None:
    """The twelve 2.5 s segments of the 3 x 4 layout, each labelled with its lead name."""
    time = np.arange(signal.shape[1]) / fs
    for row, leads in enumerate(LAYOUT_ROWS, start=1):
        for column, lead in enumerate(leads):
            start, stop = int(column * SEGMENT_SECONDS * fs), int((column + 1) * SEGMENT_SECONDS * fs) + 1
            index = STANDARD_LEADS.index(lead)
            present = bool(mask[index])
            fig.add_trace(go.Scatter(
                x=time[start:stop], y=signal[index, start:stop], name=lead, mode="lines", showlegend=False,
                line=dict(color=TRACE_COLOUR if present else "#999999", width=1, dash=None if present else "dot"),
                hovertemplate=f"{lead}<br>%{{x:.3f}} s<br>%{{y:.2f}} mV<extra></extra>",
            ), row=row, col=1)
            fig.add_annotation(
                x=column * SEGMENT_SECONDS + 0.05, y=1, xref=f"x{'' if row == 1 else row}",
                yref=f"y{'' if row == 1 else row} domain", text=f"<b>{lead}</b>" + ("" if present else " (missing)"),
                showarrow=False, xanchor="left", yanchor="top", font=dict(size=12),
            )


def _add_rhythm_strip(fig: go.Figure, signal: np.ndarray, fs: float, r_peaks: np.ndarray, row: int) -> None:
    """Lead II over the whole window, R peaks marked and numbered."""
    rhythm = signal[STANDARD_LEADS.index(RHYTHM_LEAD)]
    time = np.arange(rhythm.size) / fs
    fig.add_trace(go.Scatter(
        x=time, y=rhythm, name=RHYTHM_TRACE_NAME, mode="lines", showlegend=False,
        line=dict(color=TRACE_COLOUR, width=1), hovertemplate="II<br>%{x:.3f} s<br>%{y:.2f} mV<extra></extra>",
    ), row=row, col=1)
    peaks = r_peaks[(r_peaks >= 0) & (r_peaks < rhythm.size)]
    fig.add_trace(go.Scatter(
        x=time[peaks], y=rhythm[peaks], name=R_PEAK_TRACE_NAME, mode="markers+text", showlegend=False,
        text=[str(number) for number in range(1, peaks.size + 1)], textposition="top center",
        marker=dict(symbol="triangle-down", size=8, color="#1f5fbf"), textfont=dict(color="#1f5fbf", size=11),
        hovertemplate="beat %{text}<br>%{x:.3f} s<extra></extra>",
    ), row=row, col=1)
    fig.add_annotation(x=0.05, y=1, xref=f"x{row}", yref=f"y{row} domain", text=f"<b>{RHYTHM_LEAD}</b> rhythm",
                       showarrow=False, xanchor="left", yanchor="top", font=dict(size=12))


def _add_shading(fig: go.Figure, shading: Shading, ranges: list[tuple[float, float]]) -> None:
    """Coloured bands behind every signal row, opacity following the weights."""
    red, green, blue = shading.rgb
    colours = [[0.0, f"rgba({red},{green},{blue},0)"], [1.0, f"rgba({red},{green},{blue},0.55)"]]
    for row, (low, high) in enumerate(ranges, start=1):
        fig.add_trace(go.Heatmap(
            x=shading.times, y=[low, high], z=np.vstack([shading.weights, shading.weights]), zmin=0, zmax=1,
            colorscale=colours, showscale=False, name=shading.label, hoverinfo="skip",
        ), row=row, col=1)


def _add_heat_strip(fig: go.Figure, strip: HeatStrip, row: int) -> None:
    fig.add_trace(go.Heatmap(
        x=strip.times, y=[0.0, 1.0], z=np.vstack([strip.weights, strip.weights]), colorscale="YlOrRd", showscale=False,
        name=strip.label,
        hovertemplate=f"{strip.label}<br>%{{x:.2f}} s: %{{z:.3f}}<extra></extra>",
    ), row=row, col=1)
    fig.update_yaxes(row=row, col=1, range=[0.0, 1.0], showticklabels=False, showgrid=False, fixedrange=True)
    fig.add_annotation(x=0.05, y=0.5, xref=f"x{row}", yref=f"y{row} domain", text=strip.label, showarrow=False,
                       xanchor="left", font=dict(size=11))


def ecg_figure(
    signal: np.ndarray,  # (12, T) mV, STANDARD_LEADS order
    fs: float,
    *,
    lead_mask: np.ndarray | None = None,  # (12,) bool
    r_peaks: np.ndarray | None = None,  # (K,) samples at fs
    shading: Shading | None = None,
    heat_strip: HeatStrip | None = None,
    title: str = "",
) -> go.Figure:
    """Plotly figure of a 12-lead ECG in the standard printed layout on ECG paper."""
    if signal.shape[0] != len(STANDARD_LEADS):
        raise ValueError(f"ecg_figure: signal has {signal.shape[0]} rows, expected {len(STANDARD_LEADS)} in STANDARD_LEADS order")
    mask = np.ones(len(STANDARD_LEADS), bool) if lead_mask is None else np.asarray(lead_mask, bool)
    shown, shown_fs = _display_signal(np.asarray(signal, dtype=np.float32), fs)
    peaks = np.zeros(0, int) if r_peaks is None else (np.asarray(r_peaks) * shown_fs / fs).round().astype(int)
    window = shown.shape[1] / shown_fs
    n_signal_rows = len(LAYOUT_ROWS) + 1
    ranges = [_row_range(_row_values(shown, shown_fs, row)) for row in range(n_signal_rows)]
    spans = [high - low for low, high in ranges]
    px_per_mv = (PLOT_WIDTH_PX - MARGIN_PX["l"] - MARGIN_PX["r"]) / DISPLAY_SECONDS * MM_PER_MV / MM_PER_SECOND
    heights = [span * px_per_mv for span in spans] + ([STRIP_HEIGHT_PX] if heat_strip is not None else [])
    fig = make_subplots(rows=len(heights), cols=1, shared_xaxes=True, vertical_spacing=0.012, row_heights=heights)
    if shading is not None:
        _add_shading(fig, shading, ranges)
    _add_lead_segments(fig, shown, mask, shown_fs)
    _add_rhythm_strip(fig, shown, shown_fs, peaks, row=n_signal_rows)
    if heat_strip is not None:
        _add_heat_strip(fig, heat_strip, row=len(heights))
    _paper_axes(fig, len(heights), window)
    for row, (low, high) in enumerate(ranges, start=1):
        fig.update_yaxes(row=row, col=1, range=[low, high], dtick=MAJOR_MV, showgrid=True, gridcolor=MAJOR_GRID_COLOUR,
                         minor=dict(dtick=MINOR_MV, showgrid=True, gridcolor=MINOR_GRID_COLOUR),
                         showticklabels=False, zeroline=False, fixedrange=True)
    fig.update_layout(
        height=int(sum(heights) + MARGIN_PX["t"] + MARGIN_PX["b"]), margin=MARGIN_PX, plot_bgcolor=PAPER_COLOUR,
        title=dict(text=f"{title}  <span style='font-size:11px'>25 mm/s, 10 mm/mV</span>", x=0.01, font=dict(size=14)),
        dragmode="zoom", hovermode="closest", showlegend=False,
    )
    return fig
