"""The current ECG as a printable page at true scale: PDF and PNG from matplotlib.

One landscape page (A4 or Letter), 25 mm/s and 10 mm/mV on a millimetre grid: the 3 x 4 layout with a
lead II rhythm strip and a 1 mV calibration pulse per row, under a header with the record, its
measurements, the scores and report on screen, and "research tool, not for clinical decisions". The
page is drawn in millimetres, so printed at 100 % the grid is real ECG paper.
"""
from __future__ import annotations

import re
import tempfile
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from melp.record import STANDARD_LEADS, EcgRecord
from ui.ecg_plot import LAYOUTS, RHYTHM_LEAD, WINDOW_SECONDS

if TYPE_CHECKING:
    from matplotlib.axes import Axes

PAPERS_MM = {"A4": (297.0, 210.0), "Letter": (279.4, 215.9)}  # landscape width, height
SPEED_MM_S, GAIN_MM_MV = 25.0, 10.0
ROW_MM = 32.0  # each row spans 3.2 mV
MARGIN_MM = 12.0
HEADER_MM = 42.0
CALIBRATION_MM = 7.0  # room for the 1 mV pulse before the traces
PNG_DPI = 200
GRID_MINOR, GRID_MAJOR = "#f4c6c6", "#e08a8a"
FORMATS = ("pdf", "png")
NOTICE = "Research tool, not for clinical decisions."


def export_name(record_id: str, kind: str) -> str:
    """A file name from the record id: safe characters only."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", record_id or "ecg").strip("._") or "ecg"
    return f"{stem}-ecg.{kind}"


def _grid(axes: Axes, width: float, height: float, left: float, bottom: float) -> None:
    for step, colour, line in ((1.0, GRID_MINOR, 0.25), (5.0, GRID_MAJOR, 0.5)):
        for x in np.arange(left, left + width + 1e-6, step):
            axes.plot([x, x], [bottom, bottom + height], color=colour, linewidth=line, zorder=0)
        for y in np.arange(bottom, bottom + height + 1e-6, step):
            axes.plot([left, left + width], [y, y], color=colour, linewidth=line, zorder=0)


def _trace(axes: Axes, values: np.ndarray, fs: float, x0: float, baseline: float) -> None:
    times = np.arange(values.size) / fs
    axes.plot(x0 + times * SPEED_MM_S, baseline + values * GAIN_MM_MV, color="black", linewidth=0.6, zorder=2)


def _pulse(axes: Axes, x0: float, baseline: float) -> None:
    xs = np.array([0, 1, 1, 6, 6, 7]) + x0  # 0.2 s wide (5 mm) at 25 mm/s
    ys = np.array([0, 0, 1, 1, 0, 0]) * GAIN_MM_MV + baseline
    axes.plot(xs, ys, color="black", linewidth=0.6, zorder=2)


def _rows(axes: Axes, window: EcgRecord, left: float, top: float) -> float:
    """Draw the 3 x 4 rows and the rhythm strip from ``top`` down; returns the bottom (mm)."""
    signal, fs = window.signal, window.fs
    n = signal.shape[1]
    rows = list(LAYOUTS["3x4 + rhythm"]) + [(RHYTHM_LEAD,)]
    for row, leads in enumerate(rows):
        baseline = top - (row + 0.6) * ROW_MM
        _pulse(axes, left, baseline)
        for column, lead in enumerate(leads):
            first, stop = column * n // len(leads), (column + 1) * n // len(leads)
            x0 = left + CALIBRATION_MM + first / fs * SPEED_MM_S
            _trace(axes, signal[STANDARD_LEADS.index(lead), first:stop], fs, x0, baseline)
            axes.text(x0 + 1, baseline + 0.42 * ROW_MM, lead + (" rhythm" if len(leads) == 1 else ""), fontsize=7)
    return top - len(rows) * ROW_MM


def write_page(window: EcgRecord, title: str, lines: list[str], kind: str, paper: str = "A4",
               folder: Path | None = None) -> Path:
    """Write the page as ``kind`` ("pdf" or "png") on ``paper``; returns the file, named after the record."""
    if kind not in FORMATS or paper not in PAPERS_MM:
        raise ValueError(f"export: {kind!r} on {paper!r}, expected one of {FORMATS} on one of {tuple(PAPERS_MM)}")
    # matplotlib's Figure on its own canvas, not pyplot: pyplot keeps global state shared by every user's
    # thread; and imported here, as export is rare (0.3 s off the app's start-up)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    width, height = PAPERS_MM[paper]
    figure = Figure(figsize=(width / 25.4, height / 25.4))
    FigureCanvasAgg(figure)
    axes = figure.add_axes((0, 0, 1, 1))
    axes.set_xlim(0, width)
    axes.set_ylim(0, height)
    axes.axis("off")
    strip_width = CALIBRATION_MM + WINDOW_SECONDS * SPEED_MM_S
    grid_top = height - MARGIN_MM - HEADER_MM
    bottom = _rows(axes, window, MARGIN_MM, grid_top)
    _grid(axes, strip_width, grid_top - bottom, MARGIN_MM, bottom)
    axes.text(MARGIN_MM, height - MARGIN_MM, title, fontsize=11, fontweight="bold", va="top")
    wrapped = [piece for line in lines for piece in textwrap.wrap(line, 170)][:7]
    axes.text(MARGIN_MM, height - MARGIN_MM - 6, "\n".join(wrapped), fontsize=7, va="top", linespacing=1.4)
    axes.text(MARGIN_MM, bottom - 5, f"{SPEED_MM_S:g} mm/s, {GAIN_MM_MV:g} mm/mV, 1 mV calibration pulse. {NOTICE}",
              fontsize=7, va="top")
    folder = folder or Path(tempfile.mkdtemp(prefix="melp-export-"))
    path = folder / export_name(window.record_id, kind)
    figure.savefig(path, format=kind, dpi=PNG_DPI if kind == "png" else None)
    return path
