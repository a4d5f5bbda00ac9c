"""Score handlers: the likely findings of the window (calibrated), and each typed prompt read on its own.

The model and library arrive as arguments; only their public methods are called (embed, findings,
zero_shot, class_embeddings, explain; the library's ECG vectors), so nothing here imports torch.
"""
from __future__ import annotations

from typing import Any

import gradio as gr
import numpy as np

from melp.calibration import CalibrationError
from melp.prompt_reading import read_prompt
from ui import overlays
from ui.errors import plain, user_errors
from ui.handlers import require_session
from ui.scores import KIND_FREE, KIND_NONSENSE, KIND_STATEMENT, Reading, percentile, ranked, scores_figure
from ui.session import ScoresShown, Session

FINDING_THRESHOLD = 0.5  # findings listed up front: calibrated probability at least this
FINDING_SETS = ("ptbxl-rhythm", "ptbxl-sub", "ptbxl-form")  # PTB-XL statements, calibrated on real ECGs
MAX_FINDINGS = 8
FLAT_SPREAD = 0.1  # a finding whose heartbeat similarities vary less than this is about the whole recording
READING_GUIDE = ("How to read these scores: a percentage marked 'likely' is a calibrated probability for that "
                 "statement (see the About tab, 'Reading the scores'); 'higher than N % of reference ECGs' ranks "
                 "this ECG against the library for free text; neither is a diagnosis.")


def _require_model(model: Any | None) -> Any:
    from ui.analysis import require_model

    return require_model(model)


def _statement_table(model: Any, embedded: Any, label_sets: list[str]) -> Any | None:
    """Calibrated findings of the label sets the prompts name, in one call; None without a calibration."""
    if not label_sets:
        return None
    try:
        return model.findings(embedded, label_sets=label_sets)
    except CalibrationError:
        return None


def read_prompts(model: Any, library: Any | None, session: Session, prompts: list[str],
                 embedded: Any | None = None) -> list[Reading]:
    """Each prompt read on its own (the others on screen change nothing). The window is encoded once for
    the rhythm embedding and every calibrated statement."""
    embedded = embedded if embedded is not None else model.embed(session.window)
    rhythm = model.encode_ecg(embedded)[0]  # (E,)
    reference = library.reference_vectors() if library is not None else None  # (M, E)
    parsed = [(prompt, read_prompt(prompt)) for prompt in prompts]
    table = _statement_table(model, embedded, sorted({r.label_set for _, r in parsed if r.kind == "statement"}))
    readings = []
    for prompt, reading in parsed:
        if reading.kind == KIND_NONSENSE:
            readings.append(Reading(prompt, KIND_NONSENSE, None, None, reading.reason))
            continue
        if reading.kind == "statement" and table is not None:
            row = table[(table["label_set"] == reading.label_set) & (table["statement"] == reading.statement)]
            if len(row):
                probability, cosine = float(row["probability"].iloc[0]), float(row["cosine"].iloc[0])
                if reading.negated:  # its absence: the complement (the statement's cosine is not this prompt's)
                    readings.append(Reading(prompt, KIND_STATEMENT, 100 * (1.0 - probability), None,
                                            f"not {reading.label_set} {reading.statement}", negated=True))
                else:
                    readings.append(Reading(prompt, KIND_STATEMENT, 100 * probability, cosine,
                                            f"{reading.label_set} {reading.statement}"))
                continue
        if reading.negated:  # no calibration for it: the text tower would rank ECGs as for the finding itself
            readings.append(Reading(prompt, KIND_NONSENSE, None, None, "the model does not read 'no' or 'not': "
                                    "score the finding itself; a low reading is its absence"))
            continue
        text = model.class_embeddings([prompt])[0]  # (E,)
        cosine = float(rhythm @ text)
        if reference is None:
            readings.append(Reading(prompt, KIND_NONSENSE, None, cosine, "no reference library loaded"))
        else:
            readings.append(Reading(prompt, KIND_FREE, percentile(cosine, reference @ text), cosine))
    return readings


@user_errors("score the diagnoses")
def score_prompts(session: Session | None, custom_text: str, preset: str, model: Any | None,
                  presets: dict[str, list[str]], library: Any | None = None, embedded: Any | None = None):
    """(scores shown, chart, rows [prompt, reading, kind, cosine], prompt chooser) for the typed and preset
    prompts; the first is a ScoresShown for the exported page."""
    from ui.analysis import gather_prompts

    session, model = require_session(session), _require_model(model)
    readings = ranked(read_prompts(model, library, session, gather_prompts(custom_text, preset, presets), embedded))
    # a denied finding has no heartbeats of its own to show
    chooser = gr.update(choices=[r.prompt for r in readings if r.kind != KIND_NONSENSE and not r.negated], value=None)
    shown = tuple((r.prompt, r.text) for r in readings)
    return ScoresShown(session.shown_id, shown), scores_figure(readings), [r.row() for r in readings], chooser


def _heartbeat_phrase(session: Session, heartbeats: np.ndarray, similarity: np.ndarray) -> str:
    """The heartbeats a finding points at (strip numbers), or 'the whole recording' when it is flat."""
    if similarity.size == 0 or float(similarity.max() - similarity.min()) < FLAT_SPREAD:
        return "the whole recording"
    numbers = overlays.strip_numbers(heartbeats, session.r_peaks, session.record.fs)
    top = np.argsort(-similarity)[: max(1, int(np.sum(similarity >= similarity.max() - FLAT_SPREAD / 2)))]
    return "heartbeats " + ", ".join(numbers[i] for i in sorted(top))


def _supporting_heartbeats(model: Any, session: Session, names: list[str]) -> list[str]:
    """Each finding's supporting heartbeats, from one explain call with every finding as a sentence (one call
    per finding only when a name does not come back as exactly one sentence)."""
    if not names:
        return []
    explanation = model.explain(session.record, text=" ".join(f"{name}." for name in names),
                                window=float(session.window_start))
    similarity = np.asarray(explanation.sentence_heartbeat_similarity)  # (S, K)
    if len(explanation.sentences) == len(names):
        return [_heartbeat_phrase(session, np.asarray(explanation.heartbeats), row) for row in similarity]
    phrases = []
    for name in names:
        single = model.explain(session.record, text=name, window=float(session.window_start))
        rows = np.asarray(single.sentence_heartbeat_similarity)
        phrases.append(_heartbeat_phrase(session, np.asarray(single.heartbeats),
                                         rows.mean(axis=0) if single.sentences else np.zeros(0)))
    return phrases


@user_errors("list the likely findings")
def lead_findings(session: Session | None, model: Any | None, embedded: Any | None = None) -> str:
    """Markdown: the window's likely findings (calibrated probability >= FINDING_THRESHOLD), best first, each
    with the heartbeats that support it, then how to read the numbers."""
    session, model = require_session(session), _require_model(model)
    record = plain(session.record.record_id or "this ECG")
    try:
        table = model.findings(embedded if embedded is not None else session.window, label_sets=list(FINDING_SETS))
    except CalibrationError as error:
        return f"**Likely findings for {record}:** not available ({plain(error)})"
    likely = table[table["probability"] >= FINDING_THRESHOLD].sort_values("probability", ascending=False)
    likely = likely.drop_duplicates("name").head(MAX_FINDINGS)
    lines = [f"### Likely findings for {record} ({session.window_label}; calibrated probability at least "
             f"{FINDING_THRESHOLD:.0%})"]
    if likely.empty:
        lines.append("None of the shipped statements reaches that probability for this window.")
    support = _supporting_heartbeats(model, session, list(likely["name"]))
    for row, heartbeats in zip(likely.itertuples(index=False), support):
        lines.append(f"- **{plain(row.name)}**: {100 * row.probability:.0f} % likely ({heartbeats})")
    lines += ["", f"*{READING_GUIDE}*"]
    return "\n".join(lines)
