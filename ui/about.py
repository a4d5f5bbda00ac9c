"""The banner (what is not loaded and how to fix it) and the About tab (model card, versions, notice)."""
from __future__ import annotations

import platform
from importlib import metadata
from typing import Any

DEFAULT_BEAT_QUERIES = 10  # paper §3, for the slider when no model is loaded
VERSIONED_PACKAGES = ("melp", "torch", "transformers", "gradio", "numpy", "wfdb", "faiss-cpu")
TRAIN_HINT = ("Train the default model with `make default-checkpoint` (README, 'Training'), "
              "or start the app on any checkpoint with `python app.py --model PATH`.")
NOTICE = ("**Research tool, not for clinical decisions.** Scores, reports and highlights come from a model trained "
          "on synthetic or research data; they are not validated for diagnosis or patient care.")


def banner_markdown(model_problem: str | None, library_problem: str | None) -> str:
    """Empty when everything loaded; otherwise what is missing and how to fix it."""
    lines = []
    if model_problem:
        lines.append(f"**No model loaded:** {model_problem}. Reading and plotting ECGs works; scores, reports, "
                     f"attention and similar ECGs need a model. {TRAIN_HINT}")
    if library_problem and not model_problem:
        lines.append(f"**No retrieval library:** {library_problem}. Start with `--library DIR` (build one with "
                     "`python -m index.build`).")
    return "\n\n".join(lines)


def library_line(library: Any | None) -> str:
    """What the library's ECGs are, for the page header: real (PTB-XL) and simulated counts."""
    if library is None:
        return ""
    table = library.table()
    if "origin" not in table:
        return f"Similar ECGs come from a library of {len(table)} records."
    counts = table["origin"].value_counts()
    parts = [f"{count:,} {origin}" for origin, count in counts.items()]
    return f"Similar ECGs come from a library of {' and '.join(parts)} ECGs."


def beat_queries(model: Any | None) -> int:
    return int(model.config.pooler.n_beat_queries) if model is not None else DEFAULT_BEAT_QUERIES


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _model_card(model: Any, source: str) -> list[str]:
    config = model.config
    ecg, pooler, decoder, pre = config.ecg, config.pooler, config.decoder, config.preprocess
    return [
        f"- **Checkpoint:** `{source}`",
        f"- **ECG encoder:** {ecg.layers} layers, width {ecg.width}, {config.ecg_tokens} time tokens per "
        f"{pre['seconds']:g} s at {pre['fs']:g} Hz",
        f"- **Poolers:** {pooler.n_beat_queries} learned attention slots (the paper's 'beat queries'), "
        f"{pooler.n_caption_queries} caption queries, embedding width {pooler.embed_dim}"
        + ("; one embedding per detected heartbeat" if pooler.heartbeat_pooling else ""),
        f"- **Text tower:** {config.text.model_path or 'all-MiniLM-L6-v2 (installed package)'}",
        f"- **Report decoder:** {decoder.layers} layers, width {decoder.width}, context {decoder.max_length} tokens",
        f"- **Preprocessing:** {pre['filter']} filter, {_AMPLITUDE.get(pre['normalisation'], pre['normalisation'])}, "
        f"{pre['lead_order']} lead order",
    ]


# How the model's input amplitude is set, in words (PreprocessConfig.normalisation).
_AMPLITUDE = {"none": "amplitude kept in millivolts", "minmax_record": "min-max scaled per record",
              "zscore_lead": "z-scored per lead"}


READING_THE_SCORES = """### Reading the scores
- **"N % likely"**: a calibrated probability. The statements of the shipped label sets (PTB-XL's
  superclasses, subclasses, form and rhythm statements, and the simulator's statements) were each
  calibrated on ECGs the model never trained on (PTB-XL fold 9; the simulator's validation split), and
  measured on others (PTB-XL fold 10). A prompt that names one of them, in any phrasing, abbreviation or
  with a small misspelling, is answered with its probability. Of 100 ECGs read "70 % likely", about 70
  carried the statement in PTB-XL's labels. A prompt that denies one ("no atrial fibrillation", "without
  LBBB") is answered with one minus its probability: the model itself does not read "no" or "not".
- **"higher than N % of reference ECGs"**: for any other text about ECGs there is no calibration, so the
  reading says where this ECG's similarity to the text stands among the reference ECGs named under
  "Library" below (hover for the raw cosine similarity). A high rank says the ECG resembles the text more than most; it is not a
  probability.
- **"no score"**: the text is empty, symbols or emoji, or uses no word the model learned.
- Each reading is computed on its own: typing more diagnoses never changes another one's reading.
- None of these is a diagnosis. The model is a research tool."""


def about_markdown(model: Any | None, source: str, library: Any | None) -> str:
    """Model card, how to read the scores, library, software versions and the clinical-use notice."""
    lines = ["## About", NOTICE, "", READING_THE_SCORES, "", "### Model"]
    lines += _model_card(model, source) if model is not None else [f"No model loaded (looked for `{source}`). {TRAIN_HINT}"]
    lines += ["", "### Library", library_line(library) or "No retrieval library loaded."]
    if library is not None:
        lines.append(f"Free-text readings rank this ECG against {library.reference_description()}.")
    versions = ", ".join(f"{name} {_version(name)}" for name in VERSIONED_PACKAGES)
    lines += ["", "### Software", f"Python {platform.python_version()}; {versions}",
              "", "MELP: Wang, Xu, Yu, ICML 2025 (arXiv 2506.21803). This is an independent open re-implementation."]
    return "\n".join(lines)
