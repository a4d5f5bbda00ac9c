"""Zero-shot scores -> a sorted bar chart and a table, with probabilities over the prompts given."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

DEFAULT_LOGIT_SCALE = 1 / 0.07  # CLIP's initial temperature, used when the model does not expose its own
BAR_HEIGHT_PX = 28
FRAME_HEIGHT_PX = 190  # title, axis title and gradio's own top margin (it forces 100 px)
CHART_MARGIN_PX = dict(l=10, r=110, t=30, b=30)  # right margin holds the bar labels
SCORE_HEADERS = ["prompt", "score", "probability"]


@dataclass(frozen=True)
class PromptScores:
    """Zero-shot scores of one ECG, sorted best first."""

    prompts: tuple[str, ...]
    scores: np.ndarray  # (M,) cosine similarity
    probabilities: np.ndarray  # (M,) softmax over these prompts

    def rows(self) -> list[list]:
        """Table rows [prompt, score, probability], best first."""
        return [[prompt, round(float(score), 4), round(float(probability), 4)]
                for prompt, score, probability in zip(self.prompts, self.scores, self.probabilities)]


def parse_prompts(text: str | None) -> list[str]:
    """One diagnosis per line; blank lines and duplicates dropped, order kept."""
    seen: dict[str, None] = {}
    for line in (text or "").splitlines():
        prompt = line.strip()
        if prompt:
            seen.setdefault(prompt, None)
    return list(seen)


def rank_scores(prompts: list[str], scores: np.ndarray, logit_scale: float = DEFAULT_LOGIT_SCALE) -> PromptScores:
    """Sort prompts by score and add probabilities softmax(scale * score) over the given prompts."""
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)  # (M,)
    if scores.size != len(prompts):
        raise ValueError(f"rank_scores: {len(prompts)} prompts but {scores.size} scores; expected one score per prompt")
    logits = logit_scale * scores
    probabilities = np.exp(logits - logits.max())
    probabilities /= probabilities.sum()
    order = np.argsort(-scores, kind="stable")
    return PromptScores(tuple(prompts[i] for i in order), scores[order], probabilities[order])


def scores_figure(ranked: PromptScores) -> go.Figure:
    """Horizontal bars, best prompt on top, labelled with score and probability."""
    labels = [f"{score:.3f}  ({probability:.0%})" for score, probability in zip(ranked.scores, ranked.probabilities)]
    fig = go.Figure(go.Bar(
        x=ranked.scores, y=list(ranked.prompts), orientation="h", text=labels, textposition="outside", cliponaxis=False, textfont=dict(size=12),
        marker=dict(color=ranked.probabilities, colorscale="Blues", cmin=0, cmax=1),
        hovertemplate="%{y}<br>score %{x:.4f}<extra></extra>", name="zero-shot score",
    ))
    fig.update_yaxes(autorange="reversed", automargin=True)
    fig.update_xaxes(title="cosine similarity (probability over these prompts)")
    fig.update_layout(height=FRAME_HEIGHT_PX + BAR_HEIGHT_PX * len(ranked.prompts),
                      margin=CHART_MARGIN_PX, title=dict(text="Zero-shot scores", x=0.01, font=dict(size=14)))
    return fig
