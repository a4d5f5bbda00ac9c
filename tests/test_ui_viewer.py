"""The clinical viewer: layouts at true scale, the whole record in windows, export, comparison, units."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pytest

import melp
from melp.record import EcgRecord
from melp.synth.simulate import simulate
from ui import handlers, viewer
from ui.ecg_plot import CALIBRATION_TRACE_NAME, PX_PER_MM, PaperScale, ecg_figure
from ui.export import PAPERS_MM, PNG_DPI
from ui.session import ScoresShown

FS = 500.0


def _long_record(seconds: float = 38.0) -> EcgRecord:
    parts = [simulate(["sinus_rhythm"], seed).record.signal for seed in range(int(np.ceil(seconds / 10)))]
    signal = np.concatenate(parts, axis=1)[:, :int(seconds * FS)]
    return EcgRecord(signal=signal, fs=FS, record_id="long")


def _row_heights_px(fig) -> list[float]:
    height = fig.layout.height - fig.layout.margin.t - fig.layout.margin.b
    axes = [fig.layout[name] for name in fig.layout if name.startswith("yaxis")]
    return [(axis.domain[1] - axis.domain[0]) * height for axis in axes]


@pytest.mark.parametrize("layout, rows", [("3x4 + rhythm", 4), ("6x2", 6), ("12x1", 12)])
@pytest.mark.parametrize("speed, gain", [(25.0, 10.0), (50.0, 5.0), (25.0, 20.0)])
def test_every_layout_is_drawn_at_true_scale_with_square_grid(layout, rows, speed, gain):
    record = simulate(["sinus_rhythm"], 0).record
    fig = ecg_figure(record.signal, record.fs, scale=PaperScale(layout, speed, gain))
    calibrations = [trace for trace in fig.data if trace.name == CALIBRATION_TRACE_NAME]
    assert len(calibrations) == rows  # a 1 mV pulse at the start of each row
    x_range = fig.layout.xaxis.range
    plot_width = fig.layout.width - fig.layout.margin.l - fig.layout.margin.r
    px_per_mm_x = plot_width / ((x_range[1] - x_range[0]) * speed)
    for height, name in zip(_row_heights_px(fig), [n for n in fig.layout if n.startswith("yaxis")]):
        low, high = fig.layout[name].range
        px_per_mm_y = height / ((high - low) * gain)
        assert px_per_mm_y == pytest.approx(px_per_mm_x, rel=0.02) == pytest.approx(PX_PER_MM, rel=0.02)
    assert f"{speed:g} mm/s, {gain:g} mm/mV" in fig.layout.title.text


def test_a_runaway_amplitude_never_makes_a_runaway_plot():
    signal = simulate(["sinus_rhythm"], 0).record.signal * 1000  # microvolts drawn as millivolts
    fig = ecg_figure(signal, FS)
    assert fig.layout.height < 2000


def test_any_window_of_a_long_record_is_shown_measured_and_analysed():
    session = handlers.load_record(_long_record())[0]
    moved, info, fig = viewer.set_window(session, 20.0)
    assert moved.window_start == 20.0 and "20-30 s of 38.0 s" in info
    assert moved.window.n_samples == int(10 * FS) and moved.window.record_id == "long@20s"
    assert fig.layout.xaxis.range[1] == pytest.approx(30.0)
    late, _, _ = viewer.set_window(session, 99.0)
    assert late.window_start == 28.0  # clamped to the last whole window
    slider = viewer.window_slider(moved)
    assert slider["maximum"] == pytest.approx(28.0) and slider["interactive"]


def test_beats_keep_their_whole_record_number_in_a_later_window():
    session = handlers.load_record(_long_record())[0]
    moved, _, fig = viewer.set_window(session, 20.0)
    marker = next(trace for trace in fig.data if trace.name == "R peaks")
    first_in_window = int(np.searchsorted(session.r_peaks, 20.0 * FS)) + 1
    assert int(marker.text[0]) == first_in_window > 1


def test_export_writes_a_true_scale_pdf_and_png_named_after_the_record(tmp_path):
    session = handlers.load_record(simulate(["sinus_rhythm"], 0).record)[0]
    pdf = viewer.export_page(session, "A4", "Sinus rhythm. Normal ECG.", kind="pdf")
    assert pdf.endswith("synth-0-ecg.pdf")
    content = open(pdf, "rb").read()
    box = re.search(rb"/MediaBox \[ *0 0 ([\d.]+) ([\d.]+) *\]", content)
    width_pt, height_pt = float(box.group(1)), float(box.group(2))
    assert width_pt == pytest.approx(297 / 25.4 * 72, abs=1) and height_pt == pytest.approx(210 / 25.4 * 72, abs=1)
    png = viewer.export_page(session, "Letter", kind="png")
    from PIL import Image

    with Image.open(png) as image:
        assert image.size[0] == pytest.approx(PAPERS_MM["Letter"][0] / 25.4 * PNG_DPI, abs=2)


def test_the_exported_page_lists_the_scores_of_its_own_record_only():
    session = handlers.load_record(simulate(["sinus_rhythm"], 0).record)[0]
    other = handlers.load_record(simulate(["sinus_rhythm"], 1).record)[0]
    scores = ScoresShown(session.shown_id, (("atrial fibrillation", "3 % likely"),))
    assert any("atrial fibrillation 3 % likely" in line for line in viewer._summary_lines(session, None, scores))
    assert not any("Scores shown" in line for line in viewer._summary_lines(other, None, scores))


@dataclass(frozen=True)
class _Row:
    row_id: int
    record_id: str
    metadata: dict = field(default_factory=dict)


class _Library:
    def record(self, row_id):
        return simulate(["lbbb"], row_id).record


def test_compare_shows_both_ecgs_at_the_same_scale_with_both_tables():
    session = handlers.load_record(simulate(["sinus_rhythm"], 0).record)[0]
    session = viewer.set_scale(session, "6x2", "25", "10", [], 1)[0]
    current, other, table = viewer.compare(session, 3, None, None, None, _Library())
    assert current.layout.width == other.layout.width and len(current.data) >= 12 and len(other.data) >= 12
    assert "Ventricular rate" in table and "synth-0" in table and "synth-3" in table


def test_microvolt_arrays_are_refused_with_the_units_control_and_read_with_it(tmp_path):
    path = tmp_path / "uv.npy"
    np.save(path, simulate(["sinus_rhythm"], 0).record.signal * 1000)
    with pytest.raises(Exception, match="Amplitude units"):
        handlers.load_upload([str(path)], 500)
    session, _, _ = handlers.load_upload([str(path)], 500, "uV")
    assert float(np.abs(session.record.signal).max()) < 10
