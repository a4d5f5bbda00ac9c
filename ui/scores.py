"""Prompt readings a clinician can read: calibrated probability, reference percentile, or a note.

Each prompt is read on its own (``melp.prompt_reading``), so the same ECG and prompt give the same
reading whatever else is on screen:
- a shipped statement (any phrasing, abbreviation or small misspelling of one) shows its calibrated
  probability (``model.findings``);
- other text about ECGs shows where this ECG stands among the reference ECGs of the library: "higher than
  97 % of reference ECGs" (the raw cosine on hover);
- anything else (empty, emoji, words the model never learned) gets a note instead of a number.
The softmax over the prompts on screen is gone from the headline: it changed when a prompt was added.
"""
from __future__ import annotations

from dataclasses import dataclass

import plotly.graph_objects as go

from melp.prompt_reading import percentile  # noqa: F401  (re-exported for the readings)

BAR_HEIGHT_PX = 30
FRAME_HEIGHT_PX = 190  # title, axis title and gradio's own top margin (it forces 100 px)
CHART_MARGIN_PX = dict(l=10, r=150, t=30, b=40)  # the right margin holds the readings
SCORE_HEADERS = ["prompt", "reading", "kind", "cosine"]
KIND_STATEMENT, KIND_FREE, KIND_NONSENSE = "calibrated probability", "reference percentile", "not about ECGs"
HOW_TO_READ = "[How to read these scores](#how-to-read-scores)"


@dataclass(frozen=True)
class Reading:
    """How one prompt reads for one ECG: a percentage (probability or percentile) or a note."""

    prompt: str
    kind: str  # KIND_STATEMENT, KIND_FREE or KIND_NONSENSE
    percent: float | None  # 0-100: calibrated probability, or percentile among reference ECGs
    cosine: float | None
    note: str = ""  # for KIND_STATEMENT the statement it was matched to; for KIND_NONSENSE the reason
    negated: bool = False  # the prompt denies the statement: percent is one minus its probability

    @property
    def text(self) -> str:
        if self.kind == KIND_STATEMENT:
            return f"{self.percent:.0f} % likely"
        if self.kind == KIND_FREE:
            return f"higher than {self.percent:.0f} % of reference ECGs"
        return f"no score: {self.note}"

    def row(self) -> list:
        return [self.prompt, self.text, self.kind + (f" ({self.note})" if self.kind == KIND_STATEMENT else ""),
                None if self.cosine is None else round(self.cosine, 4)]


def parse_prompts(text: str | None) -> list[str]:
    """One diagnosis per line; blank lines and duplicates dropped, order kept."""
    seen: dict[str, None] = {}
    for line in (text or "").splitlines():
        prompt = line.strip()
        if prompt:
            seen.setdefault(prompt, None)
    return list(seen)


def ranked(readings: list[Reading]) -> list[Reading]:
    """Numbers first, highest first; notes last, in the order typed."""
    numbered = sorted((r for r in readings if r.percent is not None), key=lambda r: -r.percent)
    return numbered + [r for r in readings if r.percent is None]


def scores_figure(readings: list[Reading]) -> go.Figure:
    """Horizontal bars of the percentages (probability or percentile, said in each label); notes have none."""
    readings = ranked(readings)
    colours = ["#1f5fbf" if r.kind == KIND_STATEMENT else "#7a8ea8" for r in readings]
    fig = go.Figure(go.Bar(
        x=[r.percent or 0.0 for r in readings], y=[r.prompt for r in readings], orientation="h",
        text=[r.text for r in readings], textposition="auto", constraintext="none", cliponaxis=False,
        textfont=dict(size=11), insidetextanchor="end",  # inside a long bar, after a short one: never cut off
        marker=dict(color=colours), customdata=[["" if r.cosine is None else f"{r.cosine:.4f}", r.kind] for r in readings],
        hovertemplate="%{y}<br>%{customdata[1]}<br>cosine similarity %{customdata[0]}<extra></extra>", name="readings",
    ))
    fig.update_yaxes(autorange="reversed", automargin=True)
    fig.update_xaxes(title="%: calibrated probability (dark) or reference percentile (grey)", range=[0, 100])
    fig.update_layout(height=FRAME_HEIGHT_PX + BAR_HEIGHT_PX * max(len(readings), 1), margin=CHART_MARGIN_PX,
                      title=dict(text="How each diagnosis reads for this ECG", x=0.01, font=dict(size=14)))
    return fig
