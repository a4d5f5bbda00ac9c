"""Metrics: AUROC agrees with sklearn, skipped classes are listed, bootstrap CIs, retrieval recall@k."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from melp.metrics import auroc, macro_auroc, retrieval_recall


@pytest.fixture()
def problem():
    rng = np.random.default_rng(3)
    labels = (rng.random((200, 4)) < [0.5, 0.2, 0.05, 0.0]).astype(np.float32)  # last class has no positive
    scores = labels * 0.8 + rng.random((200, 4))
    scores[:, 0] = np.round(scores[:, 0], 1)  # ties
    return labels, scores


def test_auroc_matches_sklearn_with_ties(problem):
    labels, scores = problem
    for k in range(3):
        assert auroc(labels[:, k], scores[:, k]) == pytest.approx(roc_auc_score(labels[:, k], scores[:, k]))


def test_macro_auroc_skips_and_lists_single_label_classes(problem):
    labels, scores = problem
    report = macro_auroc(labels, scores, ["a", "b", "c", "d"])
    assert report.skipped == ("d",)
    expected = np.mean([roc_auc_score(labels[:, k], scores[:, k]) for k in range(3)])
    assert report.macro == pytest.approx(expected)
    assert set(report.per_class) == {"a", "b", "c"} and report.positives["d"] == 0


def test_bootstrap_interval_contains_point_estimate_and_is_seeded(problem):
    labels, scores = problem
    first = macro_auroc(labels, scores, n_resamples=200, seed=7)
    second = macro_auroc(labels, scores, n_resamples=200, seed=7)
    low, high = first.macro_ci
    assert low < first.macro < high
    assert first.macro_ci == second.macro_ci
    assert all(lo <= first.per_class[name] <= hi for name, (lo, hi) in first.per_class_ci.items())


def test_recall_at_k_on_constructed_matrix():
    similarity = np.eye(20)
    similarity[0] = 0.0
    similarity[0, 5] = 1.0  # query 0 ranks item 5 first, its own item (score 0) ties with 18 others
    similarity[1, 1] = 0.5
    similarity[1, 2] = 0.9  # query 1: true item second
    recall = retrieval_recall(similarity)
    assert recall["recall@1"] == pytest.approx(18 / 20)
    assert recall["recall@5"] == pytest.approx(20 / 20)


def test_recall_counts_hits_within_report_groups():
    similarity = np.array([[0.1, 0.9], [0.2, 0.8]])
    assert retrieval_recall(similarity, ks=(1,))["recall@1"] == 0.5
    assert retrieval_recall(similarity, ks=(1,), groups=np.array([0, 0]))["recall@1"] == 1.0


def test_recall_refuses_non_square_matrix():
    with pytest.raises(ValueError, match="expected \\(N, N\\)"):
        retrieval_recall(np.zeros((3, 4)))
