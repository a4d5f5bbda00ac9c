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


def heatmap_figure(sentences: list[str], similarity: np.ndarray, beat_labels: list[str],
                   selected: int | None = None) -> go.Figure:
    """Heatmap of (S, K) sentence x heartbeat cosine similarity, one column per heartbeat (labelled with its
    number on the rhythm strip); the selected sentence's row is outlined."""
    similarity = np.asarray(similarity, dtype=np.float64)
    if similarity.shape != (len(sentences), len(beat_labels)):
        raise ValueError(f"heatmap_figure: similarity {similarity.shape} does not match {len(sentences)} sentences "
                         f"x {len(beat_labels)} heartbeats")
    columns = np.arange(len(beat_labels))
    rows = np.arange(len(sentences))
    fig = go.Figure(go.Heatmap(
        z=similarity, x=columns, y=rows, colorscale="Greens", name="sentence x heartbeat",
        customdata=[[[sentence, label] for label in beat_labels] for sentence in sentences],
        hovertemplate="%{customdata[0]}<br>heartbeat %{customdata[1]}: cosine %{z:.3f}<extra></extra>",
        colorbar=dict(title=dict(text="cosine similarity<br>sentence : heartbeat", side="right"), thickness=12),
    ))
    if selected is not None and 0 <= selected < len(sentences):
        fig.add_shape(type="rect", x0=-0.5, x1=len(beat_labels) - 0.5, y0=selected - 0.5, y1=selected + 0.5,
                      line=dict(color=SELECTED_OUTLINE, width=3))
    fig.update_yaxes(range=[len(sentences) - 0.5, -0.5], tickvals=rows, automargin=True,
                     ticktext=[f"{index + 1}. {_wrapped(sentence)}" for index, sentence in enumerate(sentences)])
    fig.update_xaxes(title="heartbeat (numbered as on the rhythm strip)", tickvals=columns, ticktext=beat_labels,
                     range=[-0.5, max(len(beat_labels), 1) - 0.5])
    fig.update_layout(height=FRAME_HEIGHT_PX + ROW_HEIGHT_PX * max(len(sentences), 1), margin=HEATMAP_MARGIN_PX,
                      title=dict(text="Which heartbeats each sentence is about", x=0.01, font=dict(size=14)))
    return fig


def heatmap_data(sentences: list[str], similarity: np.ndarray, beat_labels: list[str], heartbeat_seconds: np.ndarray,
                 method: str) -> dict:
    """Plain JSON of the heatmap: sentences, heartbeats (strip number, time) and the (S, K) cosine similarity."""
    return {
        "sentences": list(sentences),
        "heartbeats": list(beat_labels),
        "heartbeat_seconds": np.round(np.asarray(heartbeat_seconds, dtype=float), 3).tolist(),
        "sentence_heartbeat_similarity": np.round(np.asarray(similarity, dtype=float), 4).tolist(),
        "method": method,
    }
