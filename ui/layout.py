"""The app's components, laid out once; app.py wires their events."""
from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from ui.analysis import CUSTOM_PRESET
from ui.handlers import DEFAULT_FS_HINT, OVERLAY_CHOICES
from ui.scores import SCORE_HEADERS
from ui.uploads import ACCEPTED

DEFAULT_PROMPTS = "atrial fibrillation\nsinus rhythm\nleft bundle branch block\ninferior ST elevation"
UPLOAD_TYPES = [".hea", ".dat", ".mat", ".csv", ".npy", ".npz", ".zip"]
DEFAULT_K = 6
MAX_K = 20
MAX_BEAMS = 5
DEFAULT_MAX_TOKENS, MAX_TOKENS = 64, 128
CSS = """
.melp-banner {border-left: 6px solid #d97706; background: #fff7ed; padding: 8px 14px; border-radius: 6px;}
.melp-notice {color: #7f1d1d; font-weight: 600;}
"""


@dataclass(frozen=True)
class Layout:
    """Every component an event reads or writes."""

    session: gr.State
    files: gr.File
    fs_hint: gr.Number
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
    with gr.Tab("Examples"):
        example_choice = gr.Dropdown(example_labels, value=example_labels[0] if example_labels else None,
                                     label="Synthetic example", elem_id="example-choice")
        example_button = gr.Button("Load example", elem_id="load-example")
        with gr.Accordion("Gallery", open=False):
            gr.HTML(gallery)
    return dict(files=files, fs_hint=fs_hint, example_choice=example_choice, example_button=example_button)


def _scores_panel(presets: list[str]) -> dict:
    with gr.Column(variant="panel"):
        gr.Markdown("### Diagnoses")
        prompts = gr.Textbox(DEFAULT_PROMPTS, lines=4, label="Diagnoses to score, one per line", elem_id="prompts")
        with gr.Row():
            preset = gr.Dropdown([CUSTOM_PRESET, *presets], value=CUSTOM_PRESET, label="Add a preset label set")
            score_button = gr.Button("Score", variant="primary", elem_id="score")
        scores_plot = gr.Plot(label="Scores", elem_id="scores-plot")
        prompt_choice = gr.Radio([], label="Show the heartbeats a prompt is about", elem_id="prompt-choice")
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


def build_layout(banner: str, example_labels: list[str], gallery: str, presets: list[str], n_queries: int,
                 about_text: str) -> Layout:
    """Place every component inside the current gr.Blocks and return them."""
    gr.Markdown("# MELP ECG explorer\n<span class='melp-notice'>Research tool, not for clinical decisions.</span>")
    if banner:
        gr.Markdown(banner, elem_classes=["melp-banner"], elem_id="model-banner")
    session = gr.State(None)
    with gr.Row():
        with gr.Column(scale=1, min_width=300):
            loading = _load_panel(example_labels, gallery)
            record_info = gr.Markdown("Load an ECG to begin.", elem_id="record-info")
        with gr.Column(scale=4):
            ecg_plot = gr.Plot(label="12-lead ECG", elem_id="ecg-plot")
            with gr.Row():
                overlays = gr.CheckboxGroup(list(OVERLAY_CHOICES), value=[], label="Overlays", elem_id="overlays")
                query = gr.Slider(1, max(n_queries, 2), value=1, step=1, label="Learned attention slot shown")
                analyse_button = gr.Button("Analyse", variant="primary", elem_id="analyse")
    # Result panels stay visible side by side: plotly cannot size a figure that arrives in a hidden tab.
    with gr.Row(equal_height=False):
        scores, report = _scores_panel(presets), _report_panel()
    library = _library_panel()
    with gr.Accordion("About this tool", open=False):
        gr.Markdown(about_text)
    return Layout(session=session, record_info=record_info, ecg_plot=ecg_plot, overlays=overlays, query=query,
                  analyse_button=analyse_button, **loading, **scores, **report, **library)
