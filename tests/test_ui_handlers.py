"""UI handlers and figure builders: plain values in, plotly figures / markdown / safe files out (no browser)."""
from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

import gradio as gr
import numpy as np
import pytest

import melp
from melp.record import STANDARD_LEADS, EcgRecord
from ui import analysis, handlers, overlays
from ui.ecg_plot import PX_PER_MM, R_PEAK_TRACE_NAME, RHYTHM_TRACE_NAME, PaperScale, ecg_figure
from ui.record_info import record_markdown
from ui.report import heatmap_figure
from ui.scores import parse_prompts
from ui_records import FS, sinus_like, sinus_record, write_wfdb

ROOT = Path(__file__).resolve().parents[1]
N_QUERIES = 4


# ----- the 12-lead figure -----

def test_ecg_figure_has_twelve_lead_segments_plus_rhythm_strip():
    fig = ecg_figure(sinus_record().signal, FS, r_peaks=np.array([200, 600]))
    names = [trace.name for trace in fig.data if trace.type == "scatter"]
    assert sorted(name for name in names if name in STANDARD_LEADS) == sorted(STANDARD_LEADS)
    assert RHYTHM_TRACE_NAME in names and len([n for n in names if n in STANDARD_LEADS]) + 1 == 13


def _grid_of(image) -> dict[str, float]:
    """The tile, the minor lines and the pattern's offset (px) of a paper image's SVG."""
    svg = base64.b64decode(image.source.split(",", 1)[1]).decode()
    pattern = re.search(r'<pattern[^>]* width="([\d.]+)" height="([\d.]+)"[^>]*translate\(([-\d.]+) ([-\d.]+)\)', svg)
    tile, _, dx, dy = (float(value) for value in pattern.groups())
    minor = sorted({float(x) for x in re.findall(r'<rect x="([\d.]+)"', svg)})
    return {"tile": tile, "minor": minor, "dx": dx, "dy": dy}


@pytest.mark.parametrize("speed, gain, start_s", [(25.0, 10.0, 0.0), (50.0, 5.0, 0.0), (25.0, 20.0, 20.0)])
def test_ecg_figure_draws_ecg_paper_grid_and_shares_zoom(speed, gain, start_s):
    signal = np.tile(sinus_record().signal, (1, 3))  # 30 s: a later window starts at 20 s
    fig = ecg_figure(signal, FS, scale=PaperScale(speed_mm_s=speed, gain_mm_mv=gain), start_s=start_s)
    layout = fig.layout
    assert layout.xaxis4.dtick == pytest.approx(5.0 / speed)  # a time tick every large square
    rows = [name for name in layout if name.startswith("yaxis")]
    assert len(layout.images) == len(rows) == 4  # one sheet of paper per row, under the traces
    x0, x1 = layout.xaxis4.range
    px_per_s, px_per_mv = speed * PX_PER_MM, gain * PX_PER_MM
    assert sorted(image.yref for image in layout.images) == sorted("y" + name[5:] for name in rows)
    for image in layout.images:
        low, high = layout["yaxis" + image.yref[1:]].range
        assert (image.x, image.sizex, image.y, image.sizey) == pytest.approx((x0, x1 - x0, high, high - low))
        assert image.layer == "below" and image.xref == "x" + image.yref[1:]
        grid = _grid_of(image)
        assert grid["tile"] == pytest.approx(5 * PX_PER_MM)  # 5 mm squares ...
        assert grid["minor"] == pytest.approx([PX_PER_MM * k for k in range(1, 5)])  # ... of 1 mm ones
        # a large square's line at the window's start and at 0 mV, as on printed paper
        first_line_s = x0 + grid["dx"] / px_per_s
        zero_line_mv = high - grid["dy"] / px_per_mv
        assert first_line_s == pytest.approx(start_s) and zero_line_mv == pytest.approx(0.0)
    assert _shared_x_axis(layout, 4)


def _shared_x_axis(layout, n_rows: int) -> bool:
    """True when every row's x axis follows one axis (zooming one zooms all)."""
    names = ["xaxis"] + [f"xaxis{row}" for row in range(2, n_rows + 1)]
    followed = {layout[name].matches or name.replace("axis", "") for name in names}
    return len(followed) == 1


def test_ecg_figure_marks_and_numbers_r_peaks_on_rhythm_strip():
    peaks = np.array([200, 700, 1200])
    marker = next(trace for trace in ecg_figure(sinus_record().signal, FS, r_peaks=peaks).data if trace.name == R_PEAK_TRACE_NAME)
    assert list(marker.x) == pytest.approx(list(peaks / FS))
    assert list(marker.text) == ["1", "2", "3"]


def test_ecg_figure_labels_missing_leads():
    mask = np.ones(12, bool)
    mask[STANDARD_LEADS.index("V3")] = False
    fig = ecg_figure(sinus_record().signal, FS, lead_mask=mask)
    assert any("V3" in note.text and "missing" in note.text for note in fig.layout.annotations)


def test_overlays_add_shading_and_caption_heat_strip_row():
    beat_attention = np.random.default_rng(0).random((N_QUERIES, 2500))  # (Q, T)
    shading = overlays.query_shading(beat_attention, 2, 10.0)
    strip = overlays.caption_strip(np.linspace(0, 1, 2500), 10.0)
    fig = ecg_figure(sinus_record().signal, FS, shading=shading, heat_strip=strip)
    heatmaps = [trace for trace in fig.data if trace.type == "heatmap"]
    assert len(heatmaps) == 4 + 1  # shading behind each of the 4 signal rows, plus the strip
    assert _shared_x_axis(fig.layout, 5)


def test_query_shading_follows_the_chosen_query():
    beat_attention = np.zeros((N_QUERIES, 1000))
    beat_attention[1, 100:200] = 1.0
    shading = overlays.query_shading(beat_attention, 1, 10.0)
    assert shading.times[np.argmax(shading.weights)] == pytest.approx(1.5, abs=0.5)
    with pytest.raises(ValueError, match="slots 1..4"):
        overlays.query_shading(beat_attention, 7, 10.0)


def test_heartbeat_shading_is_strongest_on_the_most_similar_heartbeat():
    heartbeats = np.array([1000, 3000, 4000, 6000])  # at 500 Hz: 2, 6, 8 and 12 s of a 14 s window
    shading = overlays.heartbeat_shading(heartbeats, np.array([0.1, 0.2, 0.9, 0.1]), FS, (0.0, 14.0), "pvc")
    strongest = shading.times[shading.weights == shading.weights.max()]
    assert strongest.min() >= 7.0 and strongest.max() < 10.0  # halfway to the neighbours of the beat at 8 s
    assert shading.weights.min() == 0.0 and shading.label == "pvc"


def test_heartbeats_take_their_number_on_the_rhythm_strip():
    strip = np.array([100, 300, 500, 700])
    assert overlays.strip_numbers(np.array([305, 498, 900]), strip, FS) == ["2", "3", "?"]


def test_heatmap_columns_are_heartbeats_labelled_by_strip_number_and_coloured_by_cosine():
    fig = heatmap_figure(["Sinus rhythm.", "Normal ECG."], np.array([[0.1, 0.2, 0.3], [0.3, 0.2, 0.1]]),
                         ["2", "3", "4"], selected=1)
    assert fig.data[0].z.shape == (2, 3) and list(fig.layout.xaxis.ticktext) == ["2", "3", "4"]
    assert "cosine" in fig.data[0].colorbar.title.text
    assert len(fig.layout.shapes) == 1 and fig.layout.shapes[0].y0 == pytest.approx(0.5)


# ----- scores and markdown -----

def test_parse_prompts_one_per_line_without_blanks_or_duplicates():
    assert parse_prompts("atrial fibrillation\n\n  sinus rhythm \natrial fibrillation\n") == ["atrial fibrillation", "sinus rhythm"]


def test_record_markdown_lists_what_was_read():
    mask = np.ones(12, bool)
    mask[[6, 7]] = False
    record = sinus_record(lead_mask=mask, labels=("sinus rhythm",))
    text = record_markdown(record, ("resampled from 500 Hz to 250 Hz",), ("derived III from leads I and II",),
                           melp.measure(record), "0-10 s of 10.0 s")
    for expected in ("500 Hz", "10.0 s", "10 of 12", "V1, V2", "age 63", "female", "Sinus rhythm. Normal ECG.",
                     "sinus rhythm", "resampled from 500 Hz to 250 Hz", "derived III", "75 bpm", "0-10 s of 10.0 s",
                     "Ventricular rate", "QTc (Bazett)", "QRS axis"):
        assert expected in text


def test_measurement_table_keeps_values_in_two_columns_and_methods_below_it():
    """A third "how" column squeezed the values into one character per line in the side column; the
    methods now follow the table, once per way of measuring, quotes shown as quotes (not &#x27;)."""
    from melp.synth.simulate import simulate

    record = simulate(["sinus_rhythm"], 4242).record
    text = record_markdown(record, (), (), melp.measure(record), "0-10 s of 10.0 s")
    table = [line for line in text.splitlines() if line.startswith("| ")]
    assert table and all(line.count("|") == 3 for line in table), table
    assert "<details><summary>How each value was found</summary>" in text
    assert "- **QTc (Bazett), QTc (Fridericia):** QT corrected with" in text and "wave's" in text and "&#x27;" not in text


def test_plain_escapes_tags_and_markdown_but_not_quotes():
    from ui.errors import plain

    shown = plain("the P wave's <b>onset</b> | *not* bold")
    assert "wave's" in shown and "&lt;b&gt;" in shown and "<b>" not in shown
    assert "\\|" in shown and "\\*" in shown


def test_measurements_say_not_measurable_instead_of_guessing():
    from ui.record_info import measurement_rows

    flat_rhythm = melp.measure(EcgRecord(signal=np.zeros((12, 5000)), fs=FS))
    rows = {label: value for label, value, _ in measurement_rows(flat_rhythm)}
    assert rows["PR"] == rows["QRS"] == rows["Ventricular rate"] == "not measurable"


def test_presets_load_from_lists_and_objects(tmp_path):
    (tmp_path / "rhythms.json").write_text('["sinus rhythm", "atrial fibrillation"]')
    (tmp_path / "super.json").write_text('{"name": "PTB-XL superclasses", "classes": {"NORM": ["normal ECG", "normal"], "MI": "myocardial infarction"}}')
    presets = analysis.load_presets(tmp_path)
    assert presets == {"rhythms": ["sinus rhythm", "atrial fibrillation"],
                       "PTB-XL superclasses": ["normal ECG", "myocardial infarction"]}


# ----- model and library handlers with stand-in objects -----

@dataclass
class _Explanation:
    beat_attention: np.ndarray
    caption_attention: np.ndarray
    sentences: list
    sentence_beat_similarity: np.ndarray
    r_peaks: np.ndarray
    fs: float
    text: str
    heartbeats: np.ndarray
    sentence_heartbeat_similarity: np.ndarray
    heartbeat_method: str = "heartbeat embeddings"


class _FakeModel:
    """Numpy stand-in with the public inference methods the handlers call."""

    def zero_shot(self, record, prompts):
        return np.array([[len(prompt) / 100 for prompt in prompts]])

    def contrastive_logit_scale(self):
        return 10.0

    def generate_report(self, record, num_beams, max_new_tokens):
        return "Sinus rhythm. Normal ECG."

    def explain(self, record, text=None, window=0):
        sentences = [part.strip() + "." for part in (text or "Sinus rhythm.").split(".") if part.strip()]
        rng = np.random.default_rng(0)
        heartbeats = melp.beats(record).r_peaks  # the heartbeats of the record, as the strip numbers them
        return _Explanation(rng.random((N_QUERIES, 2500)), rng.random(2500), sentences,
                            rng.standard_normal((len(sentences), N_QUERIES)), np.array([100, 500]), 250.0, text,
                            heartbeats, rng.standard_normal((len(sentences), heartbeats.size)))


@dataclass(frozen=True)
class _Row:
    score: float
    row_id: int
    record_id: str
    report: str
    labels: tuple
    metadata: dict = field(default_factory=dict)


class _FakeLibrary:
    def similar_ecgs(self, record, k):
        return [_Row(0.9 - 0.1 * i, i, f"lib{i}", f"report {i}", ("sinus_rhythm",)) for i in range(k)]

    def reports_for(self, record, k):
        return self.similar_ecgs(record, k)

    def ecgs_for_text(self, text, k):
        return self.similar_ecgs(None, k)

    def record(self, row_id):
        return sinus_record(record_id=f"lib{row_id}")


def test_report_handler_gives_heatmap_data_per_sentence_and_heartbeat():
    session = handlers.load_record(sinus_record())[0]
    new_session, report, fig, data, chooser = analysis.generate_report(session, 2, 32, _FakeModel(), progress=lambda *a, **k: None)
    assert report == "Sinus rhythm. Normal ECG." and data["sentences"] == ["Sinus rhythm.", "Normal ECG."]
    assert np.array(data["sentence_heartbeat_similarity"]).shape == (2, session.r_peaks.size)
    assert data["heartbeats"] == [str(number) for number in range(1, session.r_peaks.size + 1)]
    assert new_session.beat_attention.shape == (N_QUERIES, 2500) and new_session.window_seconds == pytest.approx(10.0)
    highlighted, _ = analysis.select_sentence(new_session, chooser["choices"][1])
    assert highlighted.highlight.label == "sentence 2"
    # choosing a sentence is enough: its heartbeats are shaded with no overlay switched on
    assert any(trace.type == "heatmap" for trace in handlers.figure_for(highlighted, []).data)


def test_after_a_load_the_analysis_redraws_the_trace_only_when_an_overlay_is_on():
    session = handlers.load_record(sinus_record())[0]
    analysed = analysis.generate_report(session, 2, 32, _FakeModel(), progress=lambda *a, **k: None)[0]
    assert handlers.redraw_if_overlaid(analysed, [], 1) == gr.skip()  # the panel already shows this figure
    overlaid = handlers.redraw_if_overlaid(analysed, [handlers.OVERLAY_QUERY], 1)
    assert any(trace.type == "heatmap" for trace in overlaid.data)  # the learned-attention shading


def test_model_handlers_explain_that_no_model_is_loaded():
    session = handlers.load_record(sinus_record())[0]
    with pytest.raises(gr.Error, match="No model is loaded"):
        analysis.generate_report(session, 1, 16, None, progress=lambda *a, **k: None)


def test_neighbour_cards_show_thumbnails_reports_and_open_choices():
    session = handlers.load_record(sinus_record())[0]
    cards, suggestions, choices = handlers.similar_ecgs(session, 3, _FakeLibrary())
    assert cards.count("<svg") == 3 and "report 1" in cards and "lib2" in cards
    assert "report 0" in suggestions and [value for _, value in choices["choices"]] == [0, 1, 2]
    opened, info, _ = handlers.open_library_row(2, _FakeLibrary())
    assert opened.record.record_id == "lib2" and "lib2" in info


def test_ui_package_never_imports_torch():
    code = "import sys, ui.handlers, ui.analysis, ui.layout, ui.examples, ui.about; assert 'torch' not in sys.modules"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, env=env, timeout=120)


@pytest.mark.parametrize("normalisation, words", [("none", "amplitude kept in millivolts"),
                                                  ("minmax_record", "min-max scaled per record")])
def test_about_names_the_input_amplitude_in_words(normalisation, words):
    from types import SimpleNamespace

    from ui.about import about_markdown

    config = SimpleNamespace(
        ecg=SimpleNamespace(layers=4, width=256), ecg_tokens=62, text=SimpleNamespace(model_path=None),
        pooler=SimpleNamespace(n_beat_queries=10, n_caption_queries=32, embed_dim=256, heartbeat_pooling=True),
        decoder=SimpleNamespace(layers=2, width=128, max_length=96),
        preprocess={"seconds": 10.0, "fs": 100.0, "filter": "bandpass", "normalisation": normalisation,
                    "lead_order": "mimic"})
    text = about_markdown(SimpleNamespace(config=config), "checkpoints/x", None)
    assert f"bandpass filter, {words}, mimic lead order" in text


# ----- bad input in the app: clear messages, nothing kept, nothing trusted -----

def test_text_from_a_file_is_escaped_in_the_record_panel():
    record = replace(sinus_record(), record_id="<b>x</b>", report="<script>alert(1)</script> *bold* [link](http://x)")
    info = handlers.load_record(record)[1]
    assert "<script>" not in info and "&lt;script&gt;" in info and "<b>" not in info
    assert "\\*bold\\*" in info and "\\[link\\]" in info


def test_an_unexpected_failure_is_a_clear_error_without_server_paths(monkeypatch, tmp_path):
    path = tmp_path / "ecg.npy"
    np.save(path, sinus_like(seconds=4.0))

    def broken(*args, **kwargs):
        raise RuntimeError(f"boom in {tmp_path}/internal/state.bin")

    monkeypatch.setattr(handlers, "new_session", broken)
    with pytest.raises(gr.Error) as caught:
        handlers.load_upload([str(path)], 250)
    assert "RuntimeError" in str(caught.value) and str(tmp_path) not in str(caught.value)
    assert "still running" in str(caught.value)
