"""Model handlers: explain, report and its sentence x heartbeat heatmap, highlights (scores: ui.readings).

The model arrives as an argument (app.py binds the one loaded at startup); only its public methods
are called (zero_shot, generate_report, explain, contrastive_logit_scale), so nothing here imports torch.
"""
from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np

from ui import overlays
from ui.errors import user_errors
from ui.handlers import require_session
from ui.report import heatmap_data, heatmap_figure
from ui.scores import parse_prompts
from ui.session import Highlight, Session

logger = logging.getLogger(__name__)

PROMPTS_DIR = Path(__file__).resolve().parents[1] / "melp" / "prompts"
CUSTOM_PRESET = "(custom only)"
MAX_PROMPTS = 64
NO_MODEL = ("No model is loaded, so scores, reports and attention maps are unavailable. Train the demo model "
            "with `make default-checkpoint` (README, 'Training') or start the app with `python app.py --model PATH`.")


def require_model(model: Any | None) -> Any:
    if model is None:
        raise gr.Error(NO_MODEL)
    return model


def load_presets(folder: Path = PROMPTS_DIR) -> dict[str, list[str]]:
    """Preset label sets from melp/prompts/*.json: name -> list of prompts.

    A file is either a list of prompts, or an object whose "prompts"/"labels"/"classes" entry is a list
    of strings or an object mapping class name -> prompt (or list of phrasings, of which the first is used).
    """
    presets: dict[str, list[str]] = {}
    for path in sorted(folder.glob("*.json")):
        content = json.loads(path.read_text())
        name = path.stem
        if isinstance(content, dict):
            name = str(content.get("name", name))
            content = next((content[key] for key in ("prompts", "labels", "classes") if key in content), content)
        if isinstance(content, dict):
            prompts = [value if isinstance(value, str) else (value[0] if value else key) for key, value in content.items()]
        elif isinstance(content, list):
            prompts = [item if isinstance(item, str) else str(item[0]) for item in content if item]
        else:
            raise ValueError(f"{path}: found {type(content).__name__}, expected a list of prompts or an object of them")
        presets[name] = prompts
    return presets


def gather_prompts(custom_text: str | None, preset: str | None, presets: dict[str, list[str]]) -> list[str]:
    """Custom prompts (one per line) first, then the chosen preset's, without duplicates."""
    prompts = parse_prompts(custom_text)
    for prompt in presets.get(preset or "", []):
        if prompt not in prompts:
            prompts.append(prompt)
    if not prompts:
        raise gr.Error("Type at least one diagnosis (one per line) or choose a preset label set.")
    if len(prompts) > MAX_PROMPTS:
        raise gr.Error(f"{len(prompts)} prompts; at most {MAX_PROMPTS} at once")
    return prompts


def explain_session(session: Session, model: Any, text: str | None) -> tuple[Session, Any]:
    """Session with the attention maps and heartbeats of a fresh model.explain(record, text)."""
    explanation = model.explain(session.record, text=text, window=float(session.window_start))
    window_seconds = explanation.beat_attention.shape[1] / float(explanation.fs)
    return replace(session, beat_attention=np.asarray(explanation.beat_attention),
                   caption_attention=np.asarray(explanation.caption_attention),
                   window_seconds=window_seconds, heartbeats=np.asarray(explanation.heartbeats),
                   heartbeat_method=explanation.heartbeat_method), explanation


def _beat_labels(session: Session) -> list[str]:
    return overlays.strip_numbers(session.heartbeats, session.r_peaks, session.record.fs)


def _heatmap(session: Session, selected: int | None = None):
    labels = _beat_labels(session)
    figure = heatmap_figure(list(session.sentences), session.heartbeat_similarity, labels, selected)
    data = heatmap_data(list(session.sentences), session.heartbeat_similarity, labels,
                        session.heartbeats / session.record.fs, session.heartbeat_method)
    return figure, data


def _report_outputs(session: Session, explanation: Any):
    sentences = list(explanation.sentences)
    new_session = replace(session, report=explanation.text, sentences=tuple(sentences), highlight=None,
                          heartbeat_similarity=np.asarray(explanation.sentence_heartbeat_similarity))
    labels = [f"{index + 1}. {sentence}" for index, sentence in enumerate(sentences)]
    chooser = gr.update(choices=labels, value=None)
    figure, data = _heatmap(new_session)
    return new_session, figure, data, chooser


@user_errors("write the report")
def generate_report(session: Session | None, num_beams: float, max_new_tokens: float, model: Any | None,
                    progress: gr.Progress = gr.Progress()):
    """(session, report text, heatmap figure, heatmap data, sentence chooser) for the current ECG."""
    session, model = require_session(session), require_model(model)
    progress(0.1, desc="writing the report")
    report = model.generate_report(session.window, num_beams=int(num_beams), max_new_tokens=int(max_new_tokens))
    progress(0.6, desc="matching sentences to beats")
    session, explanation = explain_session(session, model, report or None)
    new_session, figure, data, chooser = _report_outputs(session, explanation)
    return new_session, explanation.text, figure, data, chooser


@user_errors("match the sentences to heartbeats")
def heatmap_for_text(session: Session | None, text: str, model: Any | None):
    """(session, heatmap figure, heatmap data, sentence chooser) for a user-edited report."""
    session, model = require_session(session), require_model(model)
    if not (text or "").strip():
        raise gr.Error("The report box is empty; generate a report or type your own sentences.")
    session, explanation = explain_session(session, model, text.strip())
    return _report_outputs(session, explanation)


def _highlight(session: Session, label: str, similarity: np.ndarray) -> Highlight:
    return Highlight(label=label, heartbeats=np.asarray(session.heartbeats), similarity=np.asarray(similarity))


@user_errors("highlight the sentence")
def select_sentence(session: Session | None, choice: str | None):
    """(session with the sentence's heartbeats highlighted on the trace, heatmap with its row outlined)."""
    session = require_session(session)
    if not choice or session.heartbeat_similarity is None:
        return replace(session, highlight=None), gr.update()
    index = int(choice.split(".", 1)[0]) - 1
    if not 0 <= index < len(session.sentences):
        raise gr.Error(f"Sentence {index + 1} does not exist; the report has {len(session.sentences)}.")
    highlight = _highlight(session, f"sentence {index + 1}", session.heartbeat_similarity[index])
    return replace(session, highlight=highlight), _heatmap(session, index)[0]


@user_errors("highlight the prompt's heartbeats")
def select_prompt(session: Session | None, prompt: str | None, model: Any | None) -> Session:
    """Session with the heartbeats a scored prompt is about highlighted (mean over the prompt's sentences)."""
    session = require_session(session)
    if not prompt:
        return replace(session, highlight=None)
    explained, explanation = explain_session(session, require_model(model), prompt)
    similarity = np.asarray(explanation.sentence_heartbeat_similarity).mean(axis=0)  # (K,)
    return replace(session, heartbeats=explained.heartbeats, highlight=_highlight(explained, prompt, similarity))


@user_errors("explain the report")
def explain_current(session: Session | None, model: Any | None):
    """model.explain on the current ECG and its report (the model's own when none yet): attention maps
    for the overlays plus (session, report, heatmap figure, heatmap data, sentence chooser)."""
    session, model = require_session(session), require_model(model)
    session, explanation = explain_session(session, model, session.report)
    new_session, figure, data, chooser = _report_outputs(session, explanation)
    return new_session, explanation.text, figure, data, chooser
