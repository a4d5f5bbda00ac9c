"""The analysis that follows a load: streamed step by step, and stopped once another record is loaded."""
from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import gradio as gr
import pytest

from ui import analysis, handlers, readings
from ui.record_analysis import OUTPUTS, RecordAnalysis, ShownRecords
from ui.session import ScoresShown
from ui_records import sinus_record

TAB = SimpleNamespace(session_hash="tab-1")
EMBEDDED_SEEN: list = []  # (step, the encoded window it was handed), filled by the steps_seen fixture


class _Model:
    """Counts how often the window is encoded; the steps themselves are stand-ins."""

    def __init__(self):
        self.embed_calls = 0

    def embed(self, record):
        self.embed_calls += 1
        return ("embedded", record.record_id)


@pytest.fixture()
def steps_seen(monkeypatch):
    """Every step replaced by a stand-in that notes its call; report and scores return a changed session."""
    seen = []
    EMBEDDED_SEEN.clear()

    def note(name, result):
        def step(session, *args, **kwargs):
            seen.append((name, session.report))
            EMBEDDED_SEEN.append((name, kwargs.get("embedded", args[1] if name == "findings" else None)))
            return result(session) if callable(result) else result
        return step

    monkeypatch.setattr(readings, "lead_findings", note("findings", "found"))
    monkeypatch.setattr(analysis, "generate_report", note(
        "report", lambda s: (replace(s, report="Sinus rhythm."), "Sinus rhythm.", "fig", {}, "chooser")))
    monkeypatch.setattr(handlers, "redraw_if_overlaid", note("redraw", gr.skip()))
    monkeypatch.setattr(readings, "score_prompts", note(
        "scores", lambda s: (ScoresShown(s.shown_id, (("af", "3 %"),)), "chart", [], "prompts")))
    monkeypatch.setattr(handlers, "similar_ecgs", note("neighbours", ("cards", "suggestions", "choices")))
    return seen


def _analysis(shown: ShownRecords, model: _Model | None = None) -> RecordAnalysis:
    return RecordAnalysis(model=model or _Model(), presets={}, library=None, shown=shown)


def test_the_window_is_encoded_once_for_the_findings_and_the_scores(steps_seen):
    shown, session, model = ShownRecords(), handlers.load_record(sinus_record())[0], _Model()
    list(_analysis(shown, model).run(session, 1, 32, "", "", 3, [], 1, TAB))
    handed = dict(EMBEDDED_SEEN)
    assert model.embed_calls == 1 and handed["findings"] is handed["scores"] is not None


def test_each_step_is_shown_as_it_is_ready_and_the_session_carries_from_step_to_step(steps_seen):
    shown, session = ShownRecords(), handlers.load_record(sinus_record())[0]
    shown.show(TAB, session)
    outputs = list(_analysis(shown).run(session, 1, 32, "", "", 3, [], 1, TAB))
    assert [name for name, _ in steps_seen] == ["findings", "report", "redraw", "scores", "neighbours"]
    assert [report for _, report in steps_seen][2:] == ["Sinus rhythm."] * 3  # later steps see the report's session
    assert len(outputs) == 5 and all(len(output) == len(OUTPUTS) for output in outputs)
    by_name = [dict(zip(OUTPUTS, output)) for output in outputs]
    assert by_name[0]["findings"] == "found" and by_name[0]["session"] == gr.skip()
    assert by_name[1]["report_text"] == "Sinus rhythm." and by_name[1]["session"].report == "Sinus rhythm."
    assert by_name[3]["scores_shown"].readings and by_name[3]["session"] == gr.skip()  # scores leave the session alone
    assert by_name[4]["neighbour_cards"] == "cards" and by_name[4]["findings"] == gr.skip()


def test_loading_another_record_stops_the_analysis_before_its_next_step(steps_seen):
    shown, session = ShownRecords(), handlers.load_record(sinus_record())[0]
    shown.show(TAB, session)
    running = _analysis(shown).run(session, 1, 32, "", "", 3, [], 1, TAB)
    next(running)  # the findings are shown
    shown.show(TAB, handlers.load_record(sinus_record(record_id="second"))[0])
    assert list(running) == [] and [name for name, _ in steps_seen] == ["findings"]


def test_a_step_that_finishes_after_another_record_was_loaded_is_not_shown(steps_seen, monkeypatch):
    """The old record's report must not be written back into the session of the new one."""
    shown, session = ShownRecords(), handlers.load_record(sinus_record())[0]
    newer = handlers.load_record(sinus_record(record_id="second"))[0]
    shown.show(TAB, session)

    def report_while_a_new_record_loads(s, *args):
        shown.show(TAB, newer)
        return replace(s, report="old"), "old", None, None, None

    monkeypatch.setattr(analysis, "generate_report", report_while_a_new_record_loads)
    outputs = list(_analysis(shown).run(session, 1, 32, "", "", 3, [], 1, TAB))
    assert [dict(zip(OUTPUTS, output))["findings"] for output in outputs] == ["found"]


def test_other_tabs_and_direct_calls_are_not_stopped(steps_seen):
    shown, session = ShownRecords(), handlers.load_record(sinus_record())[0]
    shown.show(SimpleNamespace(session_hash="another tab"), handlers.load_record(sinus_record())[0])
    assert len(list(_analysis(shown).run(session, 1, 32, "", "", 3, [], 1, TAB))) == 5
    assert len(list(_analysis(shown).run(session, 1, 32, "", "", 3, [], 1, None))) == 5


def test_a_record_keeps_its_identity_through_changes_and_a_new_load_gets_a_new_one():
    session = handlers.load_record(sinus_record())[0]
    assert replace(session, report="x").shown_id == session.shown_id
    assert handlers.load_record(sinus_record())[0].shown_id != session.shown_id


def test_the_tabs_remembered_are_bounded_oldest_first():
    shown, session = ShownRecords(capacity=2), handlers.load_record(sinus_record())[0]
    other = handlers.load_record(sinus_record())[0]
    for tab in ("a", "b", "c"):
        shown.show(SimpleNamespace(session_hash=tab), other)
    assert shown.is_current(SimpleNamespace(session_hash="a"), session)  # forgotten: not stopped
    assert not shown.is_current(SimpleNamespace(session_hash="c"), session)


def test_a_load_notes_its_record_for_the_tab_in_the_same_call_and_keeps_its_api_parameters():
    """gradio must still see the load's own parameters (the API's names and defaults) and pass the request."""
    from gradio.helpers import special_args

    shown = ShownRecords()

    def load(files, fs_hint, units=None):
        return handlers.load_record(sinus_record(record_id=str(files)))

    noting = shown.noting(load)
    assert [name for name, *_ in gr.utils.get_function_params(noting)] == ["files", "fs_hint", "units"]
    inputs, *_ = special_args(noting, ["a.hea", 500.0, None], request=TAB)
    session, *_ = noting(*inputs)
    assert session.record.record_id == "a.hea" and shown.is_current(TAB, session)
    assert not shown.is_current(TAB, handlers.load_record(sinus_record())[0])
