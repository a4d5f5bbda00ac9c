"""MELP ECG explorer: builds the Gradio Blocks, wires events and serves, while the model and library load
once in a background thread (ui.pending).

    python app.py [--port 7860] [--share] [--model checkpoints/my-run] [--library indexes/synth]

GRADIO_SERVER_NAME, GRADIO_SERVER_PORT and the other GRADIO_* variables work as usual. Only the loaded
model, library, example records and preset prompts (all read-only) live outside ``gr.State``.
"""
from __future__ import annotations

import argparse
import json
import logging
import threading
from dataclasses import dataclass, replace
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

import gradio as gr

import melp
from melp.logs import configure_logging
from ui import about, analysis, examples, handlers, layout, readings, viewer
from ui.errors import without_paths
from ui.pending import Pending, settled
from ui.record_analysis import INPUTS as ANALYSIS_INPUTS, OUTPUTS as ANALYSIS_OUTPUTS, RecordAnalysis, ShownRecords

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent
DEFAULT_MODEL_DIR = ROOT / "checkpoints" / "melp-demo"
QUEUE_MAX_SIZE = 64  # waiting requests beyond this are refused with "queue full"
MODEL_CONCURRENCY = 1  # model calls run one at a time (2 CPU cores)
DEFAULT_PRECISION = "auto"  # the fastest inference path this machine runs well (melp.precision), same outputs
MAX_UPLOAD_SIZE = "60mb"  # gradio refuses bigger files before they reach a handler
# gradio's own file cache (figures sent to the browser, exports) is swept every minute of anything older
# than a minute; handlers delete the uploads they read at once (ui.uploads.discard_uploaded)
DELETE_CACHE = (60, 60)
LOADING_BANNER = ("Loading the model and the library of similar ECGs (a few seconds); you can choose a file "
                  "meanwhile.")
# What a load starts runs for each new record, even while the last record's is pending: gradio's default
# ("once") dropped it (the second record kept the first one's panels); the old one stops by itself
# (ui.record_analysis).
CHAINED = dict(trigger_mode="multiple")


@dataclass(frozen=True)
class Resources:
    """What the app loads once at startup and shares read-only between users."""

    model: Any | None
    model_source: str
    model_problem: str | None  # why no model is loaded, for the banner
    library: Any | None
    library_problem: str | None
    examples: tuple[examples.Example, ...]
    presets: dict[str, list[str]]


def load_model(path: str | None, precision: str = DEFAULT_PRECISION) -> tuple[Any | None, str, str | None]:
    """(model or None, where it came from, why it is missing). An explicit --model must load."""
    if path is not None:
        return melp.load(path, precision=precision), str(path), None
    if not (DEFAULT_MODEL_DIR / "config.json").exists():
        return None, str(DEFAULT_MODEL_DIR), f"the default checkpoint {DEFAULT_MODEL_DIR.relative_to(ROOT)} does not exist yet"
    return melp.load(str(DEFAULT_MODEL_DIR), precision=precision), str(DEFAULT_MODEL_DIR), None


def load_library(folder: str | None, model: Any | None) -> tuple[Any | None, str | None]:
    """(library or None, why it is missing). An explicit --library must open."""
    if model is None:
        return None, "no model is loaded to embed queries"
    if folder is not None:
        from index.library import Library

        return Library.open(folder, model=model), None
    from index.default import default_library

    return default_library(model), None


def load_examples() -> tuple[examples.Example, ...]:
    from melp.synth import simulate

    return examples.build_examples(simulate)


def load_resources(model_path: str | None, library_dir: str | None, precision: str = DEFAULT_PRECISION) -> Resources:
    model, source, model_problem = load_model(model_path, precision)
    library, library_problem = load_library(library_dir, model)
    return Resources(model=model, model_source=source, model_problem=model_problem, library=library,
                     library_problem=library_problem, examples=load_examples(), presets=analysis.load_presets())


def start_resources(model_path: str | None, library_dir: str | None, precision: str = DEFAULT_PRECISION) -> Resources:
    """Resources whose model and library load in a background thread (ui.pending.Pending), so the page is
    served meanwhile; events that need them wait. A --model folder without config.json is refused at once."""
    folder = Path(model_path) if model_path is not None else DEFAULT_MODEL_DIR
    if not (folder / "config.json").is_file():
        if model_path is not None:
            raise SystemExit(f"--model {model_path}: no config.json there; expected a folder written by "
                             "save_pretrained (a training run's best/ folder, or checkpoints/melp-demo)")
        return load_resources(None, library_dir, precision)  # no model: reading and plotting only
    model, library = Pending("The model"), Pending("The retrieval library")

    def load() -> None:
        try:
            loaded, _, problem = load_model(model_path, precision)
        except Exception as exc:  # a broken checkpoint: the page says why instead of the server stopping
            logger.exception("could not load the model from %s", folder)
            model.resolve(None, without_paths(f"{type(exc).__name__}: {exc}"))
            library.resolve(None, "no model is loaded to embed queries")
            return
        model.resolve(loaded, problem)
        try:
            shelf, shelf_problem = load_library(library_dir, loaded)
        except Exception as exc:
            logger.exception("could not open the retrieval library")
            shelf, shelf_problem = None, without_paths(f"{type(exc).__name__}: {exc}")
        library.resolve(shelf, shelf_problem)
        logger.info("serving %s", describe(resources))

    resources = Resources(model=model, model_source=str(folder), model_problem=None, library=library,
                          library_problem=None, examples=load_examples(), presets=analysis.load_presets())
    threading.Thread(target=load, name="melp-load", daemon=True).start()
    return resources


def settle(resources: Resources) -> Resources:
    """The same resources with a model and library still loading waited for (None and why, if they failed)."""
    model, model_problem = settled(resources.model, resources.model_problem)
    library, library_problem = settled(resources.library, resources.library_problem)
    return replace(resources, model=model, model_problem=model_problem, library=library, library_problem=library_problem)


@lru_cache(maxsize=4)
def _read_config(folder: str) -> dict[str, Any]:
    path = Path(folder) / "config.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def _saved_config(resources: Resources) -> dict[str, Any]:
    """The checkpoint's config.json, read once without loading the model (for what the page needs at once)."""
    return _read_config(resources.model_source)


def _preprocess_config(resources: Resources) -> Any | None:
    if isinstance(resources.model, Pending):
        from melp.data.preprocess import model_preprocess  # with PreprocessConfig, as melp imports it lazily

        return melp.PreprocessConfig(**model_preprocess(_saved_config(resources).get("preprocess")))
    return melp.PreprocessConfig(**resources.model.config.preprocess) if resources.model is not None else None


def _beat_queries(resources: Resources) -> int:
    if isinstance(resources.model, Pending):
        return int(_saved_config(resources).get("pooler", {}).get("n_beat_queries", about.DEFAULT_BEAT_QUERIES))
    return about.beat_queries(resources.model)


def page_texts(resources: Resources) -> tuple[str, str, str]:
    """(header, banner, About text) for these resources; waits for a model or library still loading."""
    resources = settle(resources)
    banner = about.banner_markdown(resources.model_problem, resources.library_problem)
    return (layout.header_markdown(about.library_line(resources.library)), banner,
            about.about_markdown(resources.model, resources.model_source, resources.library))


def wire_loading(ui: layout.Layout, resources: Resources, config: Any | None, shown: ShownRecords,
                 analyse_after) -> None:
    """Upload, examples, opening library rows and moving the window: each replaces the session (and an upload
    clears the upload box, so the next upload starts afresh), redraws and notes the tab's new record (which
    stops the last record's analysis); then the window slider is set and the new record analysed. ``config``:
    the model's preprocessing (_preprocess_config)."""
    loaded = [ui.session, ui.record_info, ui.ecg_plot]
    private = dict(api_visibility="private")

    def then_analyse(event) -> None:  # side by side: the analysis does not wait for the slider's round trip
        event.success(viewer.window_slider, ui.session, ui.window_start, **CHAINED, **private)
        analyse_after(event)

    upload = ui.files.upload(shown.noting(partial(handlers.load_upload, preprocess_config=config)),
                             [ui.files, ui.fs_hint, ui.units], loaded, api_name="load_record")
    # a new upload replaces the record, never adds to it: the box is emptied in the browser at once (a server
    # round trip left a moment in which a second file chosen quickly was emptied with it)
    upload.then(None, None, ui.files, js="() => null", **private)
    then_analyse(upload)
    then_analyse(ui.example_button.click(shown.noting(partial(_load_example, resources=resources,
                                                              preprocess_config=config)),
                                         ui.example_choice, loaded, api_name="load_example"))
    then_analyse(ui.open_button.click(shown.noting(partial(handlers.open_library_row, library=resources.library,
                                                           preprocess_config=config)),
                                      ui.result_choice, loaded, api_name="open_neighbour"))
    then_analyse(ui.window_start.release(shown.noting(partial(viewer.set_window, preprocess_config=config)),
                                         [ui.session, ui.window_start], loaded, api_name="set_window"))


def wire_viewer(ui: layout.Layout, resources: Resources, config: Any | None) -> None:
    """Layout, speed and gain (redraw only), export, and comparison."""
    scale_inputs = [ui.session, ui.layout_choice, ui.speed, ui.gain, ui.overlays, ui.query]
    for control in (ui.layout_choice, ui.speed, ui.gain):
        control.input(viewer.set_scale, scale_inputs, [ui.session, ui.ecg_plot], api_name=f"set_{control.elem_id.replace('-', '_')}")
    for button, kind in ((ui.export_pdf, "pdf"), (ui.export_png, "png")):
        button.click(partial(viewer.export_page, kind=kind), [ui.session, ui.paper, ui.report_text, ui.scores_shown],
                     ui.export_file, api_name=f"export_{kind}")
    ui.compare_button.click(partial(viewer.compare, library=resources.library, preprocess_config=config),
                            [ui.session, ui.result_choice, ui.compare_files, ui.fs_hint, ui.units],
                            [ui.compare_current, ui.compare_other, ui.compare_table], api_name="compare")


def _load_example(label: str, resources: Resources, preprocess_config: Any | None):
    try:
        example = examples.find_example(resources.examples, label)
    except KeyError as exc:
        raise gr.Error(str(exc)) from exc
    return handlers.load_record(example.record, preprocess_config)


def wire_model(ui: layout.Layout, resources: Resources, shown: ShownRecords):
    """Model and library events (model calls queued one at a time); returns analyse_after(event), which
    chains the record's analysis (ui.record_analysis: findings, report, overlays, scores, neighbours)."""
    model = dict(model=resources.model)
    limits = dict(concurrency_limit=MODEL_CONCURRENCY, concurrency_id="model")
    report_outputs = [ui.session, ui.report_text, ui.heatmap_plot, ui.heatmap_json, ui.sentence_choice]
    report_io = dict(fn=partial(analysis.generate_report, **model), inputs=[ui.session, ui.beams, ui.max_tokens],
                     outputs=report_outputs, **limits)
    score_io = dict(fn=partial(readings.score_prompts, presets=resources.presets, library=resources.library, **model),
                    inputs=[ui.session, ui.prompts, ui.preset],
                    outputs=[ui.scores_shown, ui.scores_plot, ui.scores_table, ui.prompt_choice], **limits)
    similar_io = dict(fn=partial(handlers.similar_ecgs, library=resources.library), inputs=[ui.session, ui.k],
                      outputs=[ui.neighbour_cards, ui.suggestions, ui.result_choice])
    redraw = dict(fn=handlers.redraw, inputs=[ui.session, ui.overlays, ui.query], outputs=ui.ecg_plot,
                  api_visibility="private")
    private = dict(api_visibility="private")

    ui.overlays.input(handlers.redraw, [ui.session, ui.overlays, ui.query], ui.ecg_plot, api_name="redraw")
    ui.report_button.click(**report_io, api_name="report").success(**redraw)
    ui.heatmap_button.click(partial(analysis.heatmap_for_text, **model), [ui.session, ui.report_text],
                            [ui.session, ui.heatmap_plot, ui.heatmap_json, ui.sentence_choice],
                            api_name="heatmap", **limits).success(**redraw)
    ui.explain_button.click(partial(analysis.explain_current, **model), ui.session, report_outputs,
                            api_name="explain", **limits).success(**redraw)
    ui.score_button.click(**score_io, api_name="score")
    ui.sentence_choice.input(analysis.select_sentence, [ui.session, ui.sentence_choice], [ui.session, ui.heatmap_plot],
                             api_name="select_sentence").success(**redraw)
    ui.prompt_choice.input(partial(analysis.select_prompt, **model), [ui.session, ui.prompt_choice], ui.session,
                           api_name="select_prompt", **limits).success(**redraw)
    ui.query.release(**redraw)
    ui.neighbours_button.click(**similar_io, api_name="neighbours")
    ui.search_button.click(partial(handlers.text_search, library=resources.library), [ui.search_text, ui.k],
                           [ui.search_cards, ui.result_choice], api_name="search")

    findings_io = dict(fn=partial(readings.lead_findings, **model), inputs=ui.session, outputs=ui.findings, **limits)
    ui.findings_button.click(**findings_io, api_name="findings")

    analysed = ui.analyse_button.click(**report_io, api_name="analyse")
    analysed.success(**redraw).success(**score_io, **private).success(**similar_io, **private)
    record_analysis = RecordAnalysis(model=resources.model, presets=resources.presets, library=resources.library,
                                     shown=shown)

    def analyse_after(event) -> None:
        """After a load: findings, report, overlays, scores and neighbours, streamed as each is ready."""
        if resources.model is not None:
            event.success(record_analysis.run, [getattr(ui, name) for name in ANALYSIS_INPUTS],
                          [getattr(ui, name) for name in ANALYSIS_OUTPUTS], show_progress="minimal",
                          **limits, **CHAINED, **private)

    return analyse_after


def build_demo(resources: Resources) -> gr.Blocks:
    """The whole app; handlers get the shared read-only resources bound, everything else flows through gr.State."""
    # no telemetry and no version check: the app handles patients' ECGs and calls nothing outside the machine
    loading = isinstance(resources.model, Pending)
    header, banner, about_text = (layout.header_markdown(), LOADING_BANNER, LOADING_BANNER) if loading \
        else page_texts(resources)
    with gr.Blocks(title="MELP ECG explorer", delete_cache=DELETE_CACHE, analytics_enabled=False) as demo:
        ui = layout.build_layout(
            banner=banner,
            example_labels=[example.label for example in resources.examples],
            gallery=examples.gallery_html(resources.examples),
            presets=list(resources.presets),
            n_queries=_beat_queries(resources),
            about_text=about_text,
            header=header,
        )
        shown = ShownRecords()
        config = _preprocess_config(resources)
        wire_loading(ui, resources, config, shown, wire_model(ui, resources, shown))
        wire_viewer(ui, resources, config)
        if loading:  # each page fills in the model card, library line and any problem once they are known
            demo.load(partial(_page_updates, resources=resources), None, [ui.header, ui.banner, ui.about],
                      concurrency_limit=None, show_progress="hidden", api_visibility="private")
    return demo


def _page_updates(resources: Resources) -> tuple[str, dict, str]:
    header, banner, about_text = page_texts(resources)
    return header, gr.update(value=banner, visible=bool(banner)), about_text


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="MELP ECG explorer (Gradio)")
    parser.add_argument("--port", type=int, default=None, help="server port (default: GRADIO_SERVER_PORT or 7860)")
    parser.add_argument("--share", action="store_true", help="also serve through a public gradio.live link")
    parser.add_argument("--model", default=None, help="save_pretrained folder (default: checkpoints/melp-demo)")
    parser.add_argument("--library", default=None, help="retrieval library folder (default: the demo library)")
    parser.add_argument("--precision", default=DEFAULT_PRECISION, choices=("auto", "fp32", "bf16", "int8"),
                        help="inference precision (default auto: bf16 or int8 where the processor runs them well)")
    return parser.parse_args(argv)


def describe(resources: Resources) -> str:
    """One line: what this app serves."""
    resources = settle(resources)
    if resources.model is None:
        return f"no model ({resources.model_problem}); reading and plotting only"
    provenance = resources.model.provenance
    library = resources.library
    table = library.table() if library is not None else None
    origins = table["origin"].value_counts().to_dict() if table is not None and "origin" in table else {}
    shelf = (f"library {library.folder.name}: {len(library)} ECGs ({', '.join(f'{n} {o}' for o, n in origins.items())})"
             if library is not None else f"no library ({resources.library_problem})")
    return (f"model {Path(provenance.name_or_path).name} (fingerprint {provenance.fingerprint}, {provenance.precision}); "
            f"{shelf}")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    configure_logging(timestamps=True)
    resources = start_resources(args.model, args.library, args.precision)
    if not isinstance(resources.model, Pending):
        logger.info("serving %s", describe(resources))
    demo = build_demo(resources)
    demo.queue(max_size=QUEUE_MAX_SIZE, default_concurrency_limit=MODEL_CONCURRENCY)
    demo.launch(server_port=args.port, share=args.share or None, max_file_size=MAX_UPLOAD_SIZE,
                theme=gr.themes.Soft(), css=layout.CSS, js=layout.CALIPER_JS)


if __name__ == "__main__":
    main()
