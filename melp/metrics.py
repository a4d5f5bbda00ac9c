"""Evaluation metrics: macro AUROC (classes without both labels skipped and listed), per-class AUROC,
bootstrap confidence intervals with a fixed seed, and ECG-report retrieval recall@k."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.stats import rankdata

DEFAULT_RESAMPLES = 1000
DEFAULT_SEED = 0
DEFAULT_CONFIDENCE = 0.95
RECALL_KS = (1, 5, 10)


def auroc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve of one class (Mann-Whitney U; ties count one half); NaN without both labels."""
    positive = np.asarray(labels) > 0.5  # (N,)
    n_pos = int(positive.sum())
    n_neg = positive.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(np.asarray(scores, dtype=np.float64))  # (N,) average ranks for ties
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def per_class_auroc(labels: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """(K,) AUROC per column of (N, K) labels and scores; NaN where a class lacks positives or negatives."""
    labels, scores = np.asarray(labels), np.asarray(scores)
    if labels.shape != scores.shape or labels.ndim != 2:
        raise ValueError(f"labels {labels.shape} and scores {scores.shape} must both be (N, K)")
    return np.array([auroc(labels[:, k], scores[:, k]) for k in range(labels.shape[1])])


@dataclass(frozen=True)
class AurocReport:
    """Macro AUROC with its per-class parts and bootstrap interval."""

    macro: float
    per_class: dict[str, float]  # evaluable classes only
    skipped: tuple[str, ...]  # classes without both positive and negative records
    positives: dict[str, int]
    macro_ci: tuple[float, float] | None = None
    per_class_ci: dict[str, tuple[float, float]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {"macro_auroc": self.macro, "macro_auroc_ci": self.macro_ci, "per_class_auroc": self.per_class,
                "per_class_ci": self.per_class_ci, "skipped_classes": list(self.skipped), "positives": self.positives}


def bootstrap_auroc(labels: np.ndarray, scores: np.ndarray, n_resamples: int = DEFAULT_RESAMPLES,
                    seed: int = DEFAULT_SEED) -> np.ndarray:
    """(R, K) per-class AUROC on ``n_resamples`` record resamples drawn with replacement (fixed seed)."""
    rng = np.random.default_rng(seed)
    n_records = labels.shape[0]
    resampled = np.empty((n_resamples, labels.shape[1]))
    for r in range(n_resamples):
        chosen = rng.integers(0, n_records, n_records)  # (N,)
        resampled[r] = per_class_auroc(labels[chosen], scores[chosen])
    return resampled


def _interval(values: np.ndarray, confidence: float) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return (float("nan"), float("nan"))
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(finite, [tail, 100 - tail])
    return (float(low), float(high))


def macro_auroc(labels: np.ndarray, scores: np.ndarray, class_names: Sequence[str] | None = None,
                n_resamples: int = 0, seed: int = DEFAULT_SEED, confidence: float = DEFAULT_CONFIDENCE) -> AurocReport:
    """Per-class AUROC averaged over classes with both labels; ``n_resamples`` > 0 adds bootstrap CIs."""
    labels, scores = np.asarray(labels, dtype=np.float64), np.asarray(scores, dtype=np.float64)
    per_class = per_class_auroc(labels, scores)  # (K,)
    names = list(class_names) if class_names is not None else [str(k) for k in range(labels.shape[1])]
    if len(names) != labels.shape[1]:
        raise ValueError(f"{len(names)} class names for {labels.shape[1]} label columns; pass one name per column")
    evaluable = np.isfinite(per_class)
    macro = float(per_class[evaluable].mean()) if evaluable.any() else float("nan")
    macro_ci, per_class_ci = None, {}
    if n_resamples > 0 and evaluable.any():
        resampled = bootstrap_auroc(labels[:, evaluable], scores[:, evaluable], n_resamples, seed)  # (R, K_eval)
        macro_ci = _interval(np.nanmean(resampled, axis=1), confidence)
        kept = [name for name, ok in zip(names, evaluable) if ok]
        per_class_ci = {name: _interval(resampled[:, j], confidence) for j, name in enumerate(kept)}
    return AurocReport(
        macro=macro,
        per_class={name: float(value) for name, value, ok in zip(names, per_class, evaluable) if ok},
        skipped=tuple(name for name, ok in zip(names, evaluable) if not ok),
        positives={name: int(count) for name, count in zip(names, (labels > 0.5).sum(axis=0))},
        macro_ci=macro_ci,
        per_class_ci=per_class_ci,
    )


def retrieval_recall(similarity: np.ndarray, ks: Sequence[int] = RECALL_KS,
                     groups: np.ndarray | None = None) -> dict[str, float]:
    """Recall@k of query i finding item i in row i of an (N, N) similarity matrix (queries x items).

    A hit is the true item (or, with ``groups`` (N,), any item of the query's group, e.g. identical
    reports) among the k most similar. Ties are resolved in the query's favour.
    """
    similarity = np.asarray(similarity, dtype=np.float64)
    if similarity.ndim != 2 or similarity.shape[0] != similarity.shape[1]:
        raise ValueError(f"similarity has shape {similarity.shape}, expected (N, N) with item i matching query i")
    n_items = similarity.shape[0]
    group_of = np.arange(n_items) if groups is None else np.asarray(groups)
    same_group = group_of[:, None] == group_of[None, :]  # (N, N)
    best_match = np.where(same_group, similarity, -np.inf).max(axis=1)  # (N,)
    rank = (np.where(same_group, -np.inf, similarity) > best_match[:, None]).sum(axis=1)  # (N,) items strictly better
    return {f"recall@{k}": float(np.mean(rank < k)) for k in ks}
