"""What runs after a record (or window) is loaded: findings, report, overlays, scores, neighbours, as one
streaming event that stops as soon as the person has moved on to another record.

Why one event and not a chain of five: each step of a chain is queued on its own and reads the session
when it starts, so a step of the old record's chain that started after a new load analysed the new record
a second time, and one that finished after it wrote the old record back into the session. gradio's
cancellation did not close the gap (a cancel sent before the queue had answered with the event's id left
the step running; one listed after the load cancelled the new record's own steps, seen in CI). Here the
server notes, in the same call as each load, which record each browser tab was last given
(``ShownRecords``), and the analysis checks it before every step and before showing each result.
"""
from __future__ import annotations

import inspect
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import gradio as gr

from ui import analysis, handlers, readings
from ui.session import Session

# The components the analysis fills, by their attribute names on ui.layout.Layout, in the order it yields.
OUTPUTS = ("findings", "session", "report_text", "heatmap_plot", "heatmap_json", "sentence_choice", "ecg_plot",
           "scores_shown", "scores_plot", "scores_table", "prompt_choice", "neighbour_cards", "suggestions",
           "result_choice")
# ... and what it reads: the report's options, the prompts, the overlays and the neighbour count.
INPUTS = ("session", "beams", "max_tokens", "prompts", "preset", "k", "overlays", "query")
MAX_TABS = 10_000  # browser tabs remembered (a few dozen bytes each); the oldest are forgotten first


def _tab(request: gr.Request | None) -> str | None:
    return getattr(request, "session_hash", None) if request is not None else None


class ShownRecords:
    """Which record (``Session.shown_id``) each browser tab was last given; thread-safe, bounded.

    A tab that is not known (a direct API call, or one forgotten) counts every record as its current one.
    """

    def __init__(self, capacity: int = MAX_TABS):
        self._shown: OrderedDict[str, str] = OrderedDict()
        self._capacity = capacity
        self._lock = threading.Lock()

    def show(self, request: gr.Request | None, session: Session) -> None:
        tab = _tab(request)
        if tab is None:
            return
        with self._lock:
            self._shown[tab] = session.shown_id
            self._shown.move_to_end(tab)
            while len(self._shown) > self._capacity:
                self._shown.popitem(last=False)

    def is_current(self, request: gr.Request | None, session: Session) -> bool:
        tab = _tab(request)
        with self._lock:
            shown = self._shown.get(tab) if tab is not None else None
        return shown is None or shown == session.shown_id

    def noting(self, load: Callable) -> Callable:
        """``load`` (whose first output is the new session) that also notes the session as its tab's record,
        in the same call: noted by a later step, the last record's analysis could write its session back
        in between, and the new record's analysis then found itself out of date (seen under load).

        The wrapper keeps ``load``'s parameters, which name the API's parameters, with gradio's request
        first (gradio passes it to a parameter annotated gr.Request; a functools.partial hides it)."""
        def load_and_note(request, *inputs):
            outputs = load(*inputs)
            self.show(request, outputs[0])
            return outputs

        kept = [p for p in inspect.signature(load).parameters.values() if p.kind is p.POSITIONAL_OR_KEYWORD]
        first = inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=gr.Request)
        load_and_note.__signature__ = inspect.Signature([first, *kept])
        load_and_note.__annotations__ = {"request": gr.Request}
        load_and_note.__name__ = getattr(load, "__name__", getattr(getattr(load, "func", None), "__name__", "load"))
        return load_and_note


@dataclass(frozen=True)
class RecordAnalysis:
    """Its ``run`` is the event function (a bound method, so that gradio sees a generator and passes the
    request; a functools.partial would hide the request's annotation)."""

    model: Any
    presets: dict[str, list[str]]
    library: Any | None
    shown: ShownRecords

    def run(self, session: Session | None, num_beams: float, max_new_tokens: float, prompts: str,
                 preset: str, k: float, overlays_on: list[str], query: float, request: gr.Request) -> Iterator[tuple]:
        if session is None:
            return
        yield from self.steps(session, num_beams, max_new_tokens, prompts, preset, k, overlays_on, query,
                              lambda: self.shown.is_current(request, session))

    def steps(self, session: Session, num_beams: float, max_new_tokens: float, prompts: str, preset: str,
              k: float, overlays_on: list[str], query: float, current: Callable[[], bool]) -> Iterator[tuple]:
        """Yields the OUTPUTS after each step (gr.skip() where a step leaves a component alone); returns
        without a word once ``current()`` says another record was loaded. A step's gr.Error ends it.
        The window is encoded once (``model.embed``) for the findings and the scores."""
        if not current():
            return
        embedded = self.model.embed(session.window)
        steps = (
            lambda s: {"findings": readings.lead_findings(s, self.model, embedded)},
            lambda s: dict(zip(OUTPUTS[1:6], analysis.generate_report(s, num_beams, max_new_tokens, self.model))),
            lambda s: {"ecg_plot": handlers.redraw_if_overlaid(s, overlays_on, query)},
            lambda s: dict(zip(OUTPUTS[7:11],
                               readings.score_prompts(s, prompts, preset, self.model, self.presets, self.library,
                                                      embedded=embedded))),
            lambda s: dict(zip(OUTPUTS[11:], handlers.similar_ecgs(s, k, self.library))),
        )
        for step in steps:
            if not current():
                return
            updates = step(session)
            if not current():
                return
            session = updates.get("session", session)
            yield tuple(updates.get(name, gr.skip()) for name in OUTPUTS)
