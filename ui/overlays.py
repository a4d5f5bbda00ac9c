"""Explanation arrays -> what is drawn over the trace: shading, heat strips, sentence x heartbeat weights."""
from __future__ import annotations

import numpy as np

from ui.ecg_plot import HeatStrip, Shading

MAX_OVERLAY_POINTS = 500  # attention is averaged down to at most this many bins before plotting
QUERY_RGB = (30, 100, 220)  # beat-query attention: blue
HIGHLIGHT_RGB = (20, 160, 60)  # selected sentence or prompt: green
SOFTMAX_SHARPNESS = 10.0  # sentence -> beat-query weights: softmax(similarity * this), like the beat loss


def _bin_mean(values: np.ndarray, n_bins: int) -> np.ndarray:
    """Average consecutive samples into n_bins bins; (N,) -> (n_bins,)."""
    edges = np.linspace(0, values.size, n_bins + 1).round().astype(int)
    return np.add.reduceat(values, edges[:-1]) / np.maximum(np.diff(edges), 1)


def attention_times(n_steps: int, window_seconds: float) -> np.ndarray:
    """Centre time (s) of each of n_steps equal attention steps covering the model window; (n_steps,)."""
    return (np.arange(n_steps) + 0.5) * (window_seconds / n_steps)


def _to_overlay(weights: np.ndarray, window_seconds: float) -> tuple[np.ndarray, np.ndarray]:
    """Downsample weights over the window and scale to [0, 1]; returns (times, weights)."""
    weights = np.asarray(weights, dtype=np.float64)
    if weights.size > MAX_OVERLAY_POINTS:
        weights = _bin_mean(weights, MAX_OVERLAY_POINTS)
    peak = weights.max() if weights.size else 0.0
    scaled = weights / peak if peak > 0 else np.zeros_like(weights)
    return attention_times(weights.size, window_seconds), scaled


def query_shading(beat_attention: np.ndarray, query: int, window_seconds: float) -> Shading:
    """One beat query's attention over time (beat_attention: (Q, T)) as blue shading."""
    n_queries = beat_attention.shape[0]
    if not 0 <= query < n_queries:
        raise ValueError(f"beat query {query + 1} does not exist; the model has queries 1..{n_queries}")
    times, weights = _to_overlay(beat_attention[query], window_seconds)
    return Shading(times=times, weights=weights, rgb=QUERY_RGB, label=f"beat query {query + 1}")


def caption_strip(caption_attention: np.ndarray, window_seconds: float) -> HeatStrip:
    """Caption-pooler attention over time (T,) as a heat strip."""
    times, weights = _to_overlay(caption_attention, window_seconds)
    return HeatStrip(times=times, weights=weights, label="caption attention")


def sentence_time_weights(similarity_row: np.ndarray, beat_attention: np.ndarray) -> np.ndarray:
    """Where in time a sentence looks: softmax over its beat-query similarities (Q,) times (Q, T) -> (T,)."""
    logits = SOFTMAX_SHARPNESS * np.asarray(similarity_row, dtype=np.float64)
    query_weights = np.exp(logits - logits.max())
    query_weights /= query_weights.sum()
    return query_weights @ np.asarray(beat_attention, dtype=np.float64)


def highlight_shading(similarity_row: np.ndarray, beat_attention: np.ndarray, window_seconds: float, label: str) -> Shading:
    """The beats that support one sentence or prompt, as green shading."""
    times, weights = _to_overlay(sentence_time_weights(similarity_row, beat_attention), window_seconds)
    return Shading(times=times, weights=weights, rgb=HIGHLIGHT_RGB, label=label)


def heartbeat_windows(r_peaks: np.ndarray, fs: float, window_seconds: float) -> np.ndarray:
    """(K, 2) start/end seconds of each heartbeat: halfway to the neighbouring R peaks."""
    peak_times = np.asarray(r_peaks, dtype=np.float64) / fs
    peak_times = peak_times[peak_times < window_seconds]
    if peak_times.size == 0:
        return np.zeros((0, 2))
    bounds = np.concatenate([[0.0], (peak_times[1:] + peak_times[:-1]) / 2, [window_seconds]])
    return np.stack([bounds[:-1], bounds[1:]], axis=1)


def sentence_heartbeat_matrix(
    similarity: np.ndarray,  # (S, Q) sentence x beat-query similarity
    beat_attention: np.ndarray,  # (Q, T)
    r_peaks: np.ndarray,  # (K,) samples at fs
    fs: float,
    window_seconds: float,
) -> np.ndarray:
    """(S, K) share of each sentence's time weights that falls in each numbered heartbeat."""
    beats = heartbeat_windows(r_peaks, fs, window_seconds)
    times = attention_times(beat_attention.shape[1], window_seconds)
    matrix = np.zeros((similarity.shape[0], beats.shape[0]))
    for sentence, row in enumerate(similarity):
        weights = sentence_time_weights(row, beat_attention)  # (T,)
        for beat, (start, end) in enumerate(beats):
            matrix[sentence, beat] = weights[(times >= start) & (times < end)].sum()
        total = matrix[sentence].sum()
        matrix[sentence] = matrix[sentence] / total if total > 0 else matrix[sentence]
    return matrix
