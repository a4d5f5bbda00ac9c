"""A load in the browser and what follows it (findings, report, overlays, scores, neighbours), as one
streaming event (``LoadAndAnalyse``) that stops as soon as the person has moved on to another record.

Why one event and not a chain of five: each step of a chain is queued on its own and reads the session
when it starts, so a step of the old record's chain that started after a new load analysed the new record
a second time, and one that finished after it wrote the old record back into the session. gradio's
cancellation did not close the gap (a cancel sent before the queue had answered with the event's id left
the step running; one listed after the load cancelled the new record's own steps, seen in CI). Here the
server notes, in the same call as each load, which record each browser tab was last given
(``ShownRecords``), and the analysis checks it before every step and before showing each result.
The load itself is the event's first step: chained after it, the analysis was sent by the browser only
once it had drawn the load's figure (measured with playwright, 0.3-0.4 s).
"""
from __future__ import annotations

import inspect
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import gradio as gr

from ui import analysis, handlers, readings, viewer
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
    """The analysis of a loaded record; ``LoadAndAnalyse`` streams its ``steps`` after the load."""

    model: Any
    presets: dict[str, list[str]]
    library: Any | None

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


def streamed_outputs(analysed: bool) -> tuple[str, ...]:
    """What a load-and-analyse event fills, by Layout attribute: the loaded record, the window slider, then
    (with a model) the analysis panels."""
    loaded = ("session", "record_info", "ecg_plot", "window_start")
    return loaded + tuple(name for name in OUTPUTS if name not in loaded) if analysed else loaded


@dataclass(frozen=True)
class LoadAndAnalyse:
    """One streaming event for a load in the browser: the record (panel, figure, window slider) as soon as
    it is read, then the analysis (``RecordAnalysis.steps``) in the same event.

    Why one event: chained after the load, the analysis was sent by the browser only once it had drawn the
    load's figure (0.3-0.4 s, measured with playwright); here the server analyses while the browser draws.
    ``load`` returns (session, record markdown, figure) from ``n_load_inputs`` inputs; the analysis inputs
    (INPUTS without the session) follow them. The record is noted as its tab's (``ShownRecords``) in the
    same call, so a newer load stops this one's analysis."""

    load: Callable
    n_load_inputs: int
    analysis: RecordAnalysis | None
    shown: ShownRecords

    def run(self, request: gr.Request, *values) -> Iterator[tuple]:
        names = streamed_outputs(self.analysis is not None)
        session, record_info, figure = self.load(*values[:self.n_load_inputs])
        self.shown.show(request, session)
        yield (session, record_info, figure, viewer.window_slider(session)) + (gr.skip(),) * (len(names) - 4)
        if self.analysis is None:
            return
        options = values[self.n_load_inputs:]
        for updates in self.analysis.steps(session, *options, lambda: self.shown.is_current(request, session)):
            by_name = dict(zip(OUTPUTS, updates))
            yield tuple(by_name.get(name, gr.skip()) for name in names)

    def event_function(self, load_parameters: list[str]) -> Callable:
        """``run`` with a signature gradio reads: the request, then one parameter per input."""
        def load_and_analyse(request, *values):
            yield from self.run(request, *values)

        names = list(load_parameters) + ([name for name in INPUTS if name != "session"] if self.analysis else [])
        parameters = [inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=gr.Request)]
        parameters += [inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD) for name in names]
        load_and_analyse.__signature__ = inspect.Signature(parameters)
        load_and_analyse.__annotations__ = {"request": gr.Request}
        return load_and_analyse
