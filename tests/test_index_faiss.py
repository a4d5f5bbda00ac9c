"""Index type by size, nprobe tuning and cosine scores, on clustered random unit vectors (no model)."""
import faiss
import numpy as np
import pytest

from index.faiss_index import KIND_FLAT, KIND_IVF, RECALL_K, VectorIndex, build_index, choose_index, recall_at_k
from index.synthetic_vectors import clustered_unit_vectors

DIM = 32
N_VECTORS = 12_000
N_CLUSTERS = 120
LOWERED_EXACT_MAX = 2_000
QUERY_NOISE = 0.05


@pytest.fixture(scope="module")
def vectors():
    return clustered_unit_vectors(N_VECTORS, DIM, N_CLUSTERS, seed=3)


@pytest.fixture(scope="module")
def ivf_build(vectors):
    return build_index(vectors, exact_max=LOWERED_EXACT_MAX)


def test_collections_below_the_threshold_use_exact_search(vectors):
    built = build_index(vectors[:500], exact_max=LOWERED_EXACT_MAX)
    assert built.index.kind == KIND_FLAT and built.tuned_recall is None
    assert choose_index(99_999).kind == KIND_FLAT and choose_index(100_000).kind == KIND_IVF


def test_collections_above_the_threshold_use_ivf_tuned_to_target_recall(ivf_build):
    assert ivf_build.index.kind == KIND_IVF
    assert ivf_build.tuned_recall >= 0.95
    assert 1 <= ivf_build.index.nprobe < faiss.extract_index_ivf(ivf_build.index.faiss_index).nlist


def test_tuned_ivf_reaches_target_recall_on_fresh_queries(vectors, ivf_build):
    rng = np.random.default_rng(11)
    queries = vectors[rng.choice(N_VECTORS, 300, replace=False)] + QUERY_NOISE * rng.standard_normal((300, DIM))
    queries = (queries / np.linalg.norm(queries, axis=1, keepdims=True)).astype(np.float32)  # (Q, D)
    true_ids = np.argsort(-(queries @ vectors.T), axis=1)[:, :RECALL_K]  # brute force (Q, k)
    _, found = ivf_build.index.search(queries, RECALL_K)
    assert recall_at_k(found, true_ids) >= 0.95


def test_ivf_scores_are_cosine_similarities(vectors, ivf_build):
    scores, ids = ivf_build.index.search(vectors[:5], 4)
    expected = np.einsum("qd,qkd->qk", vectors[:5], vectors[ids])
    np.testing.assert_allclose(scores, expected, atol=1e-4)
    np.testing.assert_allclose(scores[:, 0], 1.0, atol=1e-4)


def test_added_vectors_get_the_next_ids_and_are_found(vectors):
    index = build_index(vectors[:1000], exact_max=LOWERED_EXACT_MAX).index
    index.add(vectors[1000:1010])
    _, ids = index.search(vectors[1000:1010], 1)
    assert ids[:, 0].tolist() == list(range(1000, 1010))
    np.testing.assert_array_equal(index.vectors(), vectors[:1010])


def test_saved_ivf_index_searches_the_same_after_loading(vectors, ivf_build, tmp_path):
    ivf_build.index.save(tmp_path / "ecg.faiss")
    loaded = VectorIndex.load(tmp_path / "ecg.faiss", KIND_IVF, ivf_build.index.nprobe)
    expected_scores, expected_ids = ivf_build.index.search(vectors[:20], RECALL_K)
    scores, ids = loaded.search(vectors[:20], RECALL_K)
    np.testing.assert_array_equal(ids, expected_ids)
    np.testing.assert_allclose(scores, expected_scores, atol=1e-6)
