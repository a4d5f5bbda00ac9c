"""The 12-lead ECG as a clinician reads it: on ECG paper at a true scale, in the usual layouts.

Layouts: 3 x 4 with a lead II rhythm strip (four 2.5 s columns), 6 x 2 (two 5 s columns), 12 x 1 (the
whole window per lead). Paper speed 25 or 50 mm/s, gain 5, 10 or 20 mm/mV, a 1 mV calibration pulse at
the start of every row. The figure has a fixed size in pixels (``PX_PER_MM``), so a grid square is square
at every window width: a narrow screen scrolls sideways instead of squashing the trace. Time is absolute
(seconds into the record), so the window shown can start anywhere in a long record.
"""
from __future__ import annotations

import base64
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from melp.record import STANDARD_LEADS

WINDOW_SECONDS = 10.0  # the printed 12-lead window
LAYOUTS: dict[str, tuple[tuple[str, ...], ...]] = {
    "3x4 + rhythm": (("I", "aVR", "V1", "V4"), ("II", "aVL", "V2", "V5"), ("III", "aVF", "V3", "V6")),
    "6x2": (("I", "V1"), ("II", "V2"), ("III", "V3"), ("aVR", "V4"), ("aVL", "V5"), ("aVF", "V6")),
    "12x1": tuple((lead,) for lead in STANDARD_LEADS),
}
DEFAULT_LAYOUT = "3x4 + rhythm"
SPEEDS_MM_S = (25.0, 50.0)
GAINS_MM_MV = (5.0, 10.0, 20.0)
RHYTHM_LEAD = "II"
RHYTHM_TRACE_NAME = "II (rhythm)"
R_PEAK_TRACE_NAME = "R peaks"
CALIBRATION_TRACE_NAME = "1 mV calibration"
MAX_PLOT_FS = 500.0  # faster records are decimated for display only
PX_PER_MM = 4.0  # screen pixels per paper millimetre (about 100 dpi): fixed, so squares stay square
MINOR_MM, MAJOR_MM = 1.0, 5.0
PAPER_COLOUR = "#fff7f7"
MAJOR_GRID_COLOUR = "rgba(220, 60, 60, 0.45)"
MINOR_GRID_COLOUR = "rgba(220, 60, 60, 0.15)"
TRACE_COLOUR = "#111111"
MIN_ROW_RANGE_MV = (-1.0, 1.5)  # every row shows at least this much, as a printed strip does
MAX_ROW_RANGE_MV = (-4.0, 4.0)  # and at most this: a runaway value never makes a metre-tall plot
ROW_MARGIN_MV = 0.2
CALIBRATION_SECONDS, CALIBRATION_MV = 0.2, 1.0
LEAD_OFFSET_SECONDS = 0.25  # traces start after the calibration pulse
STRIP_HEIGHT_PX = 36
SPACING_PX = 6  # between rows
MARGIN_PX = dict(l=20, r=20, t=100, b=40)  # gradio forces a 100 px top margin on plots; size for it


@dataclass(frozen=True)
class Shading:
    """Weights over time (seconds into the record) drawn as coloured shading behind the traces."""

    times: np.ndarray  # (N,) seconds
    weights: np.ndarray  # (N,) in [0, 1]
    rgb: tuple[int, int, int]
    label: str


@dataclass(frozen=True)
class HeatStrip:
    """Weights over time drawn as a separate heat strip under the traces."""

    times: np.ndarray  # (N,) seconds
    weights: np.ndarray  # (N,)
    label: str


@dataclass(frozen=True)
class PaperScale:
    """Layout, paper speed and gain of one drawing."""

    layout: str = DEFAULT_LAYOUT
    speed_mm_s: float = 25.0
    gain_mm_mv: float = 10.0

    def __post_init__(self) -> None:
        if self.layout not in LAYOUTS or self.speed_mm_s not in SPEEDS_MM_S or self.gain_mm_mv not in GAINS_MM_MV:
            raise ValueError(f"paper scale {self}: expected a layout of {list(LAYOUTS)}, a speed of {SPEEDS_MM_S} "
                             f"mm/s and a gain of {GAINS_MM_MV} mm/mV")

    @property
    def label(self) -> str:
        return f"{self.speed_mm_s:g} mm/s, {self.gain_mm_mv:g} mm/mV"


def _display_signal(signal: np.ndarray, fs: float, start_s: float) -> tuple[np.ndarray, float, float]:
    """The window shown, decimated for display: ((12, T'), display fs, start time actually used)."""
    step = max(1, int(np.floor(fs / MAX_PLOT_FS)))
    first = int(round(max(start_s, 0.0) * fs))
    first = min(first, max(signal.shape[1] - 1, 0))
    stop = first + int(round(WINDOW_SECONDS * fs))
    return signal[:, first:stop:step], fs / step, first / fs


def _row_range(values: np.ndarray) -> tuple[float, float]:
    """Y range of one row in mV, snapped to major squares, no smaller than a printed strip, capped."""
    finite = values[np.isfinite(values)]
    low = float(finite.min()) - ROW_MARGIN_MV if finite.size else MIN_ROW_RANGE_MV[0]
    high = float(finite.max()) + ROW_MARGIN_MV if finite.size else MIN_ROW_RANGE_MV[1]
    low = max(MAX_ROW_RANGE_MV[0], min(MIN_ROW_RANGE_MV[0], np.floor(low * 2) / 2))
    high = min(MAX_ROW_RANGE_MV[1], max(MIN_ROW_RANGE_MV[1], np.ceil(high * 2) / 2))
    return float(low), float(high)


def _rows(scale: PaperScale) -> list[tuple[str, ...]]:
    rows = list(LAYOUTS[scale.layout])
    return rows + [(RHYTHM_LEAD,)] if scale.layout == DEFAULT_LAYOUT else rows


def _segment(column: int, n_columns: int, n_samples: int) -> tuple[int, int]:
    width = n_samples // n_columns
    return column * width, (column + 1) * width if column < n_columns - 1 else n_samples


# The figure is built as plain data and layout dictionaries and validated once by go.Figure: assembled
# through make_subplots, add_trace(row=...), update_xaxes(row=...) and add_annotation, plotly validated
# every call, and a 3 x 4 page took 68 ms to build instead of about 15 ms.
def _axes(row: int) -> tuple[str, str]:
    """(trace axis names, e.g. "x2", "y2") of subplot row ``row`` (1-based)."""
    suffix = "" if row == 1 else str(row)
    return f"x{suffix}", f"y{suffix}"


def _row_traces(row: int, leads: tuple[str, ...], signal: np.ndarray, mask: np.ndarray, fs: float,
                start_s: float, rhythm: bool) -> tuple[list[dict], list[dict]]:
    """(traces, lead-name annotations) of one row of leads."""
    xaxis, yaxis = _axes(row)
    time = start_s + np.arange(signal.shape[1]) / fs
    traces, annotations = [], []
    for column, lead in enumerate(leads):
        first, stop = _segment(column, len(leads), signal.shape[1])
        index = STANDARD_LEADS.index(lead)
        present = bool(mask[index])
        # evenly sampled: the times as x0 + i dx, not an array (a 10 s record's figure: 362 -> 127 kB sent)
        traces.append(dict(
            type="scatter", x0=float(time[first]), dx=1.0 / fs, y=signal[index, first:stop + 1],
            name=RHYTHM_TRACE_NAME if rhythm else lead, mode="lines", showlegend=False,
            line=dict(color=TRACE_COLOUR if present else "#999999", width=1, dash=None if present else "dot"),
            hovertemplate=f"{lead}<br>%{{x:.3f}} s<br>%{{y:.2f}} mV<extra></extra>", xaxis=xaxis, yaxis=yaxis,
        ))
        annotations.append(dict(
            x=time[first] + 0.05 + (LEAD_OFFSET_SECONDS if column == 0 else 0), y=1, xref=xaxis,
            yref=f"{yaxis} domain", text=f"<b>{lead}</b>" + (" rhythm" if rhythm else "") + ("" if present else " (missing)"),
            showarrow=False, xanchor="left", yanchor="top", font=dict(size=11),
        ))
    return traces, annotations


def _calibration(row: int, start_s: float) -> dict:
    """A 1 mV, 0.2 s rectangular pulse at the start of the row, drawn at the row's gain."""
    t0 = start_s + 0.02
    xs = [t0, t0 + 0.04, t0 + 0.04, t0 + 0.04 + CALIBRATION_SECONDS, t0 + 0.04 + CALIBRATION_SECONDS, t0 + 0.24]
    ys = [0.0, 0.0, CALIBRATION_MV, CALIBRATION_MV, 0.0, 0.0]
    xaxis, yaxis = _axes(row)
    return dict(type="scatter", x=xs, y=ys, mode="lines", name=CALIBRATION_TRACE_NAME, showlegend=False,
                line=dict(color=TRACE_COLOUR, width=1), hoverinfo="skip", xaxis=xaxis, yaxis=yaxis)


def _peaks(row: int, signal: np.ndarray, fs: float, start_s: float, r_peaks: np.ndarray, numbers: np.ndarray,
           stop: int) -> dict:
    """R peaks of the window (before sample ``stop`` of it: lead II's part of the row) marked and numbered
    as the whole record numbers them."""
    rhythm = signal[STANDARD_LEADS.index(RHYTHM_LEAD)]
    local = np.round(r_peaks * 1.0 - start_s * fs).astype(int)
    inside = (local >= 0) & (local < min(rhythm.size, stop))
    xaxis, yaxis = _axes(row)
    return dict(
        type="scatter", x=start_s + local[inside] / fs, y=rhythm[local[inside]], name=R_PEAK_TRACE_NAME,
        mode="markers+text", showlegend=False, text=[str(n) for n in numbers[inside]], textposition="top center",
        marker=dict(symbol="triangle-down", size=8, color="#1f5fbf"), textfont=dict(color="#1f5fbf", size=11),
        hovertemplate="beat %{text}<br>%{x:.3f} s<extra></extra>", xaxis=xaxis, yaxis=yaxis,
    )


def _shading(shading: Shading, ranges: list[tuple[float, float]]) -> list[dict]:
    red, green, blue = shading.rgb
    colours = [[0.0, f"rgba({red},{green},{blue},0)"], [1.0, f"rgba({red},{green},{blue},0.55)"]]
    return [dict(type="heatmap", x=shading.times, y=[low, high], z=np.vstack([shading.weights, shading.weights]),
                 zmin=0, zmax=1, colorscale=colours, showscale=False, name=shading.label, hoverinfo="skip",
                 xaxis=_axes(row)[0], yaxis=_axes(row)[1])
            for row, (low, high) in enumerate(ranges, start=1)]


def _heat_strip(strip: HeatStrip, row: int) -> dict:
    xaxis, yaxis = _axes(row)
    return dict(type="heatmap", x=strip.times, y=[0.0, 1.0], z=np.vstack([strip.weights, strip.weights]),
                colorscale="YlOrRd", showscale=False, name=strip.label,
                hovertemplate=f"{strip.label}<br>%{{x:.2f}} s: %{{z:.3f}}<extra></extra>", xaxis=xaxis, yaxis=yaxis)


def _grid_svg(width_px: float, height_px: float, offset_px: tuple[float, float]) -> str:
    """An SVG of ``width_px`` x ``height_px`` covered by ECG paper: a 5 mm tile (1 mm lines, the 5 mm line on
    its edges) shifted by ``offset_px`` so that a major line falls there."""
    minor, major = PX_PER_MM * MINOR_MM, PX_PER_MM * MAJOR_MM
    steps = [k * minor for k in range(1, int(round(major / minor)))]
    lines = "".join(f'<rect x="{x:g}" width="1" height="{major:g}"/><rect y="{x:g}" width="{major:g}" height="1"/>'
                    for x in steps)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width_px:.1f}" height="{height_px:.1f}" '
            f'shape-rendering="crispEdges"><defs><pattern id="p" width="{major:g}" height="{major:g}" '
            f'patternUnits="userSpaceOnUse" patternTransform="translate({offset_px[0]:g} {offset_px[1]:g})">'
            f'<g fill="{MINOR_GRID_COLOUR}">{lines}</g><g fill="{MAJOR_GRID_COLOUR}"><rect width="1" height="{major:g}"/>'
            f'<rect width="{major:g}" height="1"/></g></pattern></defs>'
            f'<rect width="100%" height="100%" fill="url(#p)"/></svg>')


def _paper_grid(row: int, x_range: list[float], y_range: tuple[float, float], tick0_s: float,
                scale: PaperScale) -> dict:
    """The ECG paper of one row as a layout image (``_grid_svg``) over its axes, a major line at
    ``tick0_s`` and at 0 mV.

    Written by hand because plotly draws every axis grid line as its own SVG element: the 1 mm grid of a
    3 x 4 page was about 1,100 of them, and drawing the figure in Chromium took about 140 ms with them
    against 80 ms with one tiled pattern per row (benchmarks/bench_plot.py). At PX_PER_MM a millimetre is
    a whole number of pixels at every speed and gain, so the pattern's one-pixel lines stay crisp."""
    (x0, x1), (low, high) = x_range, y_range
    px_per_s, px_per_mv = scale.speed_mm_s * PX_PER_MM, scale.gain_mm_mv * PX_PER_MM
    svg = _grid_svg((x1 - x0) * px_per_s, (high - low) * px_per_mv, ((tick0_s - x0) * px_per_s, high * px_per_mv))
    xaxis, yaxis = _axes(row)
    return dict(source="data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode(), xref=xaxis,
                yref=yaxis, x=x0, y=high, sizex=x1 - x0, sizey=high - low, xanchor="left", yanchor="top",
                sizing="stretch", layer="below")


def _paper_axes(n_rows: int, start_s: float, window_s: float, ranges: list[tuple[float, float]], scale: PaperScale,
                domains: list[tuple[float, float]]) -> dict:
    """Layout entries of the rows' axes and their ECG paper (``images``) at ``scale``: x shared (only the last
    row labelled, a tick every major square), each row's y range in mV (``ranges``; rows past them are a
    heat strip, no paper) over its vertical ``domains``."""
    major_s = MAJOR_MM / scale.speed_mm_s
    x_range = [start_s - LEAD_OFFSET_SECONDS, start_s + window_s]
    layout: dict = {"images": [_paper_grid(row, x_range, ranges[row - 1], start_s, scale)
                               for row in range(1, min(n_rows, len(ranges)) + 1)]}
    for row, domain in enumerate(domains, start=1):
        xaxis, yaxis = _axes(row)
        layout[f"xaxis{xaxis[1:]}"] = dict(
            anchor=yaxis, domain=[0.0, 1.0], range=x_range, dtick=major_s, tick0=start_s, showgrid=False,
            showticklabels=row == n_rows, ticklabelstep=int(round(1.0 / major_s)), zeroline=False, ticksuffix=" s",
            automargin=False,  # the last tick label may not shrink the paper: a millimetre stays PX_PER_MM px
            **({"matches": _axes(n_rows)[0]} if row < n_rows else {}))
        low, high = ranges[row - 1] if row <= len(ranges) else (0.0, 1.0)
        layout[f"yaxis{yaxis[1:]}"] = dict(anchor=xaxis, domain=list(domain), range=[low, high], showgrid=False,
                                            showticklabels=False, zeroline=False, fixedrange=True)
    return layout


def _row_domains(heights: list[float], spacing_px: float) -> tuple[list[tuple[float, float]], float]:
    """(each row's vertical domain, top row first, total height in px) for rows of ``heights`` px."""
    total = sum(heights) + spacing_px * (len(heights) - 1)
    domains, top = [], total
    for height in heights:
        domains.append(((top - height) / total, top / total))
        top -= height + spacing_px
    return domains, total


def ecg_figure(
    signal: np.ndarray,  # (12, T) mV, STANDARD_LEADS order
    fs: float,
    *,
    lead_mask: np.ndarray | None = None,  # (12,) bool
    r_peaks: np.ndarray | None = None,  # (K,) samples at fs (whole record)
    shading: Shading | None = None,
    heat_strip: HeatStrip | None = None,
    title: str = "",
    scale: PaperScale = PaperScale(),
    start_s: float = 0.0,
) -> go.Figure:
    """Plotly figure of a 12-lead ECG window on ECG paper at ``scale``, starting ``start_s`` into the record."""
    if signal.shape[0] != len(STANDARD_LEADS):
        raise ValueError(f"ecg_figure: signal has {signal.shape[0]} rows, expected {len(STANDARD_LEADS)} in STANDARD_LEADS order")
    mask = np.ones(len(STANDARD_LEADS), bool) if lead_mask is None else np.asarray(lead_mask, bool)
    shown, shown_fs, start_s = _display_signal(np.asarray(signal, dtype=np.float32), fs, start_s)
    window_s = shown.shape[1] / shown_fs
    rows = _rows(scale)
    ranges = [_row_range(np.concatenate([shown[STANDARD_LEADS.index(lead)] for lead in leads])) for leads in rows]
    px_per_mv = scale.gain_mm_mv * PX_PER_MM
    heights = [(high - low) * px_per_mv for low, high in ranges] + ([STRIP_HEIGHT_PX] if heat_strip is not None else [])
    domains, total_height = _row_domains(heights, SPACING_PX)
    data = _shading(shading, ranges) if shading is not None else []
    annotations = []
    numbers = np.arange(1, 0 if r_peaks is None else len(r_peaks) + 1)
    peaks = np.zeros(0, int) if r_peaks is None else (np.asarray(r_peaks) * shown_fs / fs)
    for row, leads in enumerate(rows, start=1):
        rhythm = scale.layout == DEFAULT_LAYOUT and row == len(rows)
        data.append(_calibration(row, start_s - LEAD_OFFSET_SECONDS))
        traces, labels = _row_traces(row, leads, shown, mask, shown_fs, start_s, rhythm)
        data += traces
        annotations += labels
        if rhythm or (scale.layout != DEFAULT_LAYOUT and leads[0] == RHYTHM_LEAD):
            data.append(_peaks(row, shown, shown_fs, start_s, peaks, numbers, _segment(0, len(leads), shown.shape[1])[1]))
    if heat_strip is not None:
        data.append(_heat_strip(heat_strip, row=len(heights)))
    plot_width = (window_s + LEAD_OFFSET_SECONDS) * scale.speed_mm_s * PX_PER_MM
    layout = dict(
        _paper_axes(len(heights), start_s, window_s, ranges, scale, domains), annotations=annotations,
        width=int(round(plot_width + MARGIN_PX["l"] + MARGIN_PX["r"])),
        height=int(round(total_height + MARGIN_PX["t"] + MARGIN_PX["b"])), autosize=False, margin=MARGIN_PX,
        plot_bgcolor=PAPER_COLOUR, hovermode="x", dragmode=False, showlegend=False,
        title=dict(text=f"{title}  <span style='font-size:11px'>{scale.label}, {start_s:g}-{start_s + window_s:g} s</span>",
                   x=0.01, font=dict(size=14)),
    )
    return go.Figure(data=data, layout=layout)


def blank_paper(message: str = "No ECG loaded yet: upload a record or open an example") -> go.Figure:
    """An empty strip of ECG paper at the default scale, shown before a record is loaded.

    Shown as the ECG panel's first value so the browser loads and starts plotly with the page, while the
    person picks a file, instead of after their first upload (about a second measured in Chromium,
    benchmarks/bench_browser.py)."""
    scale = PaperScale()
    low, high = MIN_ROW_RANGE_MV
    height = (high - low) * scale.gain_mm_mv * PX_PER_MM
    width = (WINDOW_SECONDS + LEAD_OFFSET_SECONDS) * scale.speed_mm_s * PX_PER_MM
    layout = dict(_paper_axes(1, 0.0, WINDOW_SECONDS, [(low, high)], scale, [(0.0, 1.0)]),
                  width=int(round(width + MARGIN_PX["l"] + MARGIN_PX["r"])),
                  height=int(round(height + MARGIN_PX["t"] + MARGIN_PX["b"])), autosize=False, margin=MARGIN_PX,
                  plot_bgcolor=PAPER_COLOUR, dragmode=False, showlegend=False,
                  title=dict(text=message, x=0.01, font=dict(size=14)))
    return go.Figure(layout=layout)
