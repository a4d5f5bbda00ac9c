"""The app's components, laid out once; app.py wires their events."""
from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from ui.analysis import CUSTOM_PRESET
from ui.ecg_plot import DEFAULT_LAYOUT, GAINS_MM_MV, LAYOUTS, SPEEDS_MM_S, blank_paper
from ui.export import FORMATS, PAPERS_MM
from ui.handlers import DEFAULT_FS_HINT, OVERLAY_CHOICES
from ui.scores import SCORE_HEADERS
from ui.uploads import ACCEPTED

DEFAULT_PROMPTS = "atrial fibrillation\nsinus rhythm\nleft bundle branch block\ninferior ST elevation"
UPLOAD_TYPES = [".hea", ".dat", ".mat", ".csv", ".npy", ".npz", ".zip"]
DEFAULT_K = 6
MAX_K = 20
MAX_BEAMS = 5
DEFAULT_MAX_TOKENS, MAX_TOKENS = 64, 128
UNITS = ("mV", "uV")
MAX_RECORD_SECONDS = 24 * 3600  # melp.read_ecg's default max_seconds
CSS = """
.melp-banner {border-left: 6px solid #d97706; background: #fff7ed; padding: 8px 14px; border-radius: 6px;}
.melp-notice {color: #7f1d1d; font-weight: 600;}
#ecg-plot {overflow-x: auto;}  /* the ECG keeps its true scale: a narrow screen scrolls, never squashes */
#ecg-plot .js-plotly-plot, #compare-current .js-plotly-plot, #compare-other .js-plotly-plot {min-width: max-content;}
#compare-current, #compare-other {overflow-x: auto;}
#caliper-readout {font-family: monospace; min-height: 1.5em;}
"""
# Calipers: two clicks on the trace give the interval (ms), the rate it implies (bpm) and the voltage
# difference (mV, same row). Client-side only: it runs in the browser on the figure already there.
CALIPER_JS = """
() => {
  const state = {first: null};
  const readout = () => document.querySelector('#caliper-readout');
  const show = (text) => { const box = readout(); if (box) { box.querySelector('.prose, div')?.remove(); box.innerText = text; } };
  const bind = () => {
    const plot = document.querySelector('#ecg-plot .js-plotly-plot');
    if (!plot || !plot.on || plot.__melpLayout === plot.layout) return;
    plot.__melpLayout = plot.layout;
    plot.removeAllListeners && plot.removeAllListeners('plotly_click');
    state.first = null;
    plot.on('plotly_click', (event) => {
      const point = event.points && event.points[0];
      if (!point) return;
      const here = {x: Number(point.x), y: Number(point.y), axis: point.yaxis ? point.yaxis._id : ''};
      const line = (x) => ({type: 'line', xref: 'x', yref: 'paper', x0: x, x1: x, y0: 0, y1: 1,
                            line: {color: '#1f5fbf', width: 1, dash: 'dot'}});
      if (!state.first) {
        state.first = here;
        Plotly.relayout(plot, {shapes: [line(here.x)]});
        show(`caliper: first mark at ${here.x.toFixed(3)} s; click a second point`);
        plot.__melpLayout = plot.layout;
        return;
      }
      const ms = Math.abs(here.x - state.first.x) * 1000;
      const bpm = ms > 0 ? 60000 / ms : Infinity;
      const mv = here.axis === state.first.axis ? `${(here.y - state.first.y).toFixed(2)} mV` : 'voltage: marks on different rows';
      Plotly.relayout(plot, {shapes: [line(state.first.x), line(here.x)]});
      plot.__melpLayout = plot.layout;
      show(`caliper: ${ms.toFixed(0)} ms = ${bpm.toFixed(0)} bpm; ${mv}`);
      state.first = null;
    });
  };
  setInterval(bind, 400);
}
"""


@dataclass(frozen=True)
class Layout:
    """Every component an event reads or writes."""

    header: gr.Markdown
    banner: gr.Markdown
    about: gr.Markdown
    session: gr.State
    scores_shown: gr.State
    findings: gr.Markdown
    findings_button: gr.Button
    files: gr.File
    fs_hint: gr.Number
    units: gr.Radio
    layout_choice: gr.Radio
    speed: gr.Radio
    gain: gr.Radio
    window_start: gr.Slider
    paper: gr.Radio
    export_pdf: gr.Button
    export_png: gr.Button
    export_file: gr.File
    caliper_readout: gr.HTML
    compare_files: gr.File
    compare_button: gr.Button
    compare_current: gr.Plot
    compare_other: gr.Plot
    compare_table: gr.Markdown
    example_choice: gr.Dropdown
    example_button: gr.Button
    record_info: gr.Markdown
    ecg_plot: gr.Plot
    overlays: gr.CheckboxGroup
    query: gr.Slider
    analyse_button: gr.Button
    prompts: gr.Textbox
    preset: gr.Dropdown
    score_button: gr.Button
    scores_plot: gr.Plot
    scores_table: gr.Dataframe
    prompt_choice: gr.Radio
    beams: gr.Slider
    max_tokens: gr.Slider
    report_button: gr.Button
    explain_button: gr.Button
    report_text: gr.Textbox
    heatmap_button: gr.Button
    heatmap_plot: gr.Plot
    sentence_choice: gr.Radio
    heatmap_json: gr.JSON
    k: gr.Slider
    neighbours_button: gr.Button
    neighbour_cards: gr.HTML
    suggestions: gr.Markdown
    search_text: gr.Textbox
    search_button: gr.Button
    search_cards: gr.HTML
    result_choice: gr.Radio
    open_button: gr.Button


def _load_panel(example_labels: list[str], gallery: str) -> dict:
    with gr.Tab("Upload"):
        files = gr.File(label=f"ECG file(s): {ACCEPTED}", file_count="multiple", file_types=UPLOAD_TYPES,
                        elem_id="upload")
        fs_hint = gr.Number(value=DEFAULT_FS_HINT, label="Sampling rate for .npy/.npz/.csv without one (Hz)")
        units = gr.Radio(list(UNITS), value="mV", label="Amplitude units of .npy/.npz/.csv files", elem_id="units")
    with gr.Tab("Examples"):
        example_choice = gr.Dropdown(example_labels, value=example_labels[0] if example_labels else None,
                                     label="Synthetic example", elem_id="example-choice")
        example_button = gr.Button("Load example", elem_id="load-example")
        with gr.Accordion("Gallery (pick one above to load it)", open=False):
            gr.HTML(gallery)
    return dict(files=files, fs_hint=fs_hint, units=units, example_choice=example_choice,
                example_button=example_button)


def _view_controls() -> dict:
    with gr.Row():
        layout_choice = gr.Radio(list(LAYOUTS), value=DEFAULT_LAYOUT, label="Layout", elem_id="layout-choice")
        speed = gr.Radio([f"{v:g}" for v in SPEEDS_MM_S], value="25", label="Paper speed (mm/s)", elem_id="speed")
        gain = gr.Radio([f"{v:g}" for v in GAINS_MM_MV], value="10", label="Gain (mm/mV)", elem_id="gain")
    # the maximum is set per record (ui.viewer.window_slider); API callers may pass any start, which is clamped
    window_start = gr.Slider(0, MAX_RECORD_SECONDS, value=0, step=1, label="Window start (s)", elem_id="window-start")
    caliper_readout = gr.HTML("Calipers: click two points on the trace.", elem_id="caliper-readout")
    with gr.Row():
        paper = gr.Radio(list(PAPERS_MM), value="A4", label="Export paper", elem_id="paper")
        export_pdf = gr.Button(f"Export {FORMATS[0].upper()}", elem_id="export-pdf")
        export_png = gr.Button(f"Export {FORMATS[1].upper()}", elem_id="export-png")
    export_file = gr.File(label="Exported page (true scale, 25 mm/s, 10 mm/mV)", elem_id="export-file")
    return dict(layout_choice=layout_choice, speed=speed, gain=gain, window_start=window_start,
                caliper_readout=caliper_readout, paper=paper, export_pdf=export_pdf, export_png=export_png,
                export_file=export_file)


def _compare_panel() -> dict:
    gr.Markdown("Compare the current ECG with a library result (choose it under 'Result to open' in Explore) "
                "or with a second upload: the same layout, scale and window length, and both measurement tables.")
    compare_files = gr.File(label="Second ECG (optional)", file_count="multiple", file_types=UPLOAD_TYPES,
                            elem_id="compare-upload")
    compare_button = gr.Button("Compare", variant="primary", elem_id="compare")
    compare_table = gr.Markdown(elem_id="compare-table")
    compare_current = gr.Plot(label="Current ECG", elem_id="compare-current")
    compare_other = gr.Plot(label="Compared with", elem_id="compare-other")
    return dict(compare_files=compare_files, compare_button=compare_button, compare_current=compare_current,
                compare_other=compare_other, compare_table=compare_table)


def _scores_panel(presets: list[str]) -> dict:
    with gr.Column(variant="panel"):
        gr.Markdown("### Diagnoses")
        prompts = gr.Textbox(DEFAULT_PROMPTS, lines=4, label="Diagnoses to score, one per line", elem_id="prompts")
        with gr.Row():
            preset = gr.Dropdown([CUSTOM_PRESET, *presets], value=CUSTOM_PRESET, label="Add a preset label set")
            score_button = gr.Button("Score", variant="primary", elem_id="score")
        scores_plot = gr.Plot(label="Scores", elem_id="scores-plot")
        prompt_choice = gr.Radio([], label="Show the heartbeats a prompt is about", elem_id="prompt-choice")
        gr.Markdown("Each diagnosis is read on its own: a calibrated probability for the statements the model was "
                    "calibrated on, else a rank among the reference ECGs. See About, 'Reading the scores'.")
        scores_table = gr.Dataframe(headers=SCORE_HEADERS, label="Scores table", interactive=False, elem_id="scores-table")
    return dict(prompts=prompts, preset=preset, score_button=score_button, scores_plot=scores_plot,
                scores_table=scores_table, prompt_choice=prompt_choice)


def _report_panel() -> dict:
    with gr.Column(variant="panel"):
        gr.Markdown("### Report")
        with gr.Row():
            beams = gr.Slider(1, MAX_BEAMS, value=1, step=1, label="Beam size")
            max_tokens = gr.Slider(8, MAX_TOKENS, value=DEFAULT_MAX_TOKENS, step=8, label="Max tokens")
        with gr.Row():
            report_button = gr.Button("Generate report", variant="primary", elem_id="generate-report")
            explain_button = gr.Button("Explain current report")
        report_text = gr.Textbox(lines=4, label="Report (edit it, then 'Heatmap for this text')", elem_id="report-text")
        heatmap_button = gr.Button("Heatmap for this text", elem_id="heatmap-for-text")
        heatmap_plot = gr.Plot(label="Sentence x heartbeat", elem_id="heatmap-plot")
        sentence_choice = gr.Radio([], label="Highlight a sentence's heartbeats on the trace", elem_id="sentence-choice")
        with gr.Accordion("Heatmap data (JSON)", open=False):
            heatmap_json = gr.JSON()
    return dict(beams=beams, max_tokens=max_tokens, report_button=report_button, explain_button=explain_button,
                report_text=report_text, heatmap_button=heatmap_button, heatmap_plot=heatmap_plot,
                sentence_choice=sentence_choice, heatmap_json=heatmap_json)


def _library_panel() -> dict:
    with gr.Column(variant="panel"):
        gr.Markdown("### Similar ECGs")
        with gr.Row():
            k = gr.Slider(1, MAX_K, value=DEFAULT_K, step=1, label="How many")
            neighbours_button = gr.Button("Find similar ECGs", elem_id="find-neighbours")
        neighbour_cards = gr.HTML(elem_id="neighbour-cards")
        suggestions = gr.Markdown()
        with gr.Row():
            search_text = gr.Textbox(label="Search ECGs by description", placeholder="inferior ST elevation",
                                     elem_id="search-text")
            search_button = gr.Button("Search", elem_id="search")
        search_cards = gr.HTML(elem_id="search-cards")
        result_choice = gr.Radio([], label="Result to open", elem_id="result-choice")
        open_button = gr.Button("Open as current ECG", elem_id="open-neighbour")
    return dict(k=k, neighbours_button=neighbours_button, neighbour_cards=neighbour_cards, suggestions=suggestions,
                search_text=search_text, search_button=search_button, search_cards=search_cards,
                result_choice=result_choice, open_button=open_button)


def header_markdown(library_line: str = "") -> str:
    return ("# MELP ECG explorer\n<span class='melp-notice'>Research tool, not for clinical decisions.</span>"
            + (f" {library_line}" if library_line else ""))


def build_layout(banner: str, example_labels: list[str], gallery: str, presets: list[str], n_queries: int,
                 about_text: str, header: str | None = None) -> Layout:
    """Place every component inside the current gr.Blocks and return them (``header``: header_markdown's)."""
    header = gr.Markdown(header or header_markdown(), elem_id="app-header")
    banner_box = gr.Markdown(banner, visible=bool(banner), elem_classes=["melp-banner"], elem_id="model-banner")
    session = gr.State(None)
    scores_shown = gr.State(None)  # ui.session.ScoresShown of the last scoring, for the exported page
    with gr.Tabs():
        with gr.Tab("Explore", id="explore"):
            with gr.Row():
                with gr.Column(scale=1, min_width=300):
                    loading = _load_panel(example_labels, gallery)
                    record_info = gr.Markdown("Load an ECG to begin.", elem_id="record-info")
                with gr.Column(scale=4, min_width=320):
                    ecg_plot = gr.Plot(blank_paper(), label="12-lead ECG", elem_id="ecg-plot")
                    view = _view_controls()
                    with gr.Row():
                        overlays = gr.CheckboxGroup(list(OVERLAY_CHOICES), value=[], label="Overlays", elem_id="overlays")
                        query = gr.Slider(1, max(n_queries, 2), value=1, step=1, label="Learned attention slot shown")
                        analyse_button = gr.Button("Analyse", variant="primary", elem_id="analyse")
            with gr.Row():
                findings = gr.Markdown("Likely findings appear here once an ECG is loaded.", elem_id="findings")
                findings_button = gr.Button("List likely findings", size="sm", elem_id="list-findings", scale=0)
            # Result panels stay visible side by side: plotly cannot size a figure that arrives in a hidden tab.
            with gr.Row(equal_height=False):
                scores, report = _scores_panel(presets), _report_panel()
            library = _library_panel()
        with gr.Tab("Compare", id="compare-tab"):
            comparison = _compare_panel()
        with gr.Tab("About", id="about"):
            about_box = gr.Markdown(about_text, elem_id="about-text")
    return Layout(header=header, banner=banner_box, about=about_box, session=session, scores_shown=scores_shown,
                  findings=findings, findings_button=findings_button, record_info=record_info,
                  ecg_plot=ecg_plot, overlays=overlays, query=query,
                  analyse_button=analyse_button, **loading, **view, **scores, **report, **library, **comparison)
