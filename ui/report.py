"""Report sentences x heartbeats: the heatmap figure and its data for API clients."""
from __future__ import annotations

import textwrap

import numpy as np
import plotly.graph_objects as go

LABEL_WIDTH_CHARS = 48  # long sentences are wrapped on the y axis
MAX_LABEL_CHARS = 144  # and shortened beyond this (the full text is in the hover)
ROW_HEIGHT_PX = 48  # room for a sentence wrapped over three lines
FRAME_HEIGHT_PX = 200  # title, axis title and gradio's own top margin (it forces 100 px)
HEATMAP_MARGIN_PX = dict(l=10, r=10, t=40, b=40)
SELECTED_OUTLINE = "#14a03c"


def _wrapped(sentence: str) -> str:
    return "<br>".join(textwrap.wrap(textwrap.shorten(sentence, MAX_LABEL_CHARS), LABEL_WIDTH_CHARS)) or " "


def heatmap_figure(sentences: list[str], matrix: np.ndarray, selected: int | None = None) -> go.Figure:
    """Heatmap of (S, K) sentence x heartbeat weights; the selected sentence's row is outlined."""
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.shape[0] != len(sentences):
        raise ValueError(f"heatmap_figure: {len(sentences)} sentences but matrix has {matrix.shape[0]} rows")
    beat_numbers = np.arange(1, matrix.shape[1] + 1)
    rows = np.arange(len(sentences))
    fig = go.Figure(go.Heatmap(
        z=matrix, x=beat_numbers, y=rows, colorscale="Greens", zmin=0, name="sentence x beat",
        customdata=[[sentence] * len(beat_numbers) for sentence in sentences],
        hovertemplate="%{customdata}<br>beat %{x}: %{z:.2f}<extra></extra>", colorbar=dict(title=dict(text="share"), thickness=12),
    ))
    if selected is not None and 0 <= selected < len(sentences):
        fig.add_shape(type="rect", x0=0.5, x1=len(beat_numbers) + 0.5, y0=selected - 0.5, y1=selected + 0.5,
                      line=dict(color=SELECTED_OUTLINE, width=3))
    fig.update_yaxes(range=[len(sentences) - 0.5, -0.5], tickvals=rows, automargin=True,
                     ticktext=[f"{index + 1}. {_wrapped(sentence)}" for index, sentence in enumerate(sentences)])
    fig.update_xaxes(title="heartbeat (numbered as on the rhythm strip)", tickvals=beat_numbers,
                     range=[0.5, max(len(beat_numbers), 1) + 0.5])
    fig.update_layout(height=FRAME_HEIGHT_PX + ROW_HEIGHT_PX * max(len(sentences), 1), margin=HEATMAP_MARGIN_PX,
                      title=dict(text="Which beats each sentence matches", x=0.01, font=dict(size=14)))
    return fig


def heatmap_data(sentences: list[str], matrix: np.ndarray, query_similarity: np.ndarray) -> dict:
    """Plain JSON of the heatmap: sentences, (S, K) heartbeat weights and the raw (S, Q) query similarity."""
    return {
        "sentences": list(sentences),
        "heartbeats": list(range(1, np.asarray(matrix).shape[1] + 1)),
        "sentence_heartbeat": np.round(np.asarray(matrix, dtype=float), 4).tolist(),
        "sentence_query_similarity": np.round(np.asarray(query_similarity, dtype=float), 4).tolist(),
    }
