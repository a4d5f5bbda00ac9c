"""FAISS indexes of L2-normalised embeddings, with the index type chosen by size.

Below ``EXACT_MAX_VECTORS`` the index is exact inner product (``IndexFlatIP``). Above it, an IVF index
whose coarse quantiser is an HNSW graph, trained on a sample, with ``nprobe`` tuned on held-out rows
so that recall@k against exact search reaches ``TARGET_RECALL``. IVF lists hold full vectors (no PQ),
so recall is limited only by ``nprobe``. Since every vector is unit length, squared L2 distance and
cosine similarity rank identically (``|a - b|^2 = 2 - 2 a.b``); IVF searches in L2 and every search
returns cosine scores.
"""
from __future__ import annotations

import logging
import math
import threading
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

logger = logging.getLogger(__name__)

EXACT_MAX_VECTORS = 100_000  # below this, exact search is fast enough (a few ms per query)
TARGET_RECALL = 0.95  # recall@RECALL_K of IVF against exact search that nprobe tuning must reach
RECALL_K = 10
LISTS_PER_SQRT_N = 2  # nlist = 2 * sqrt(N): 2k lists of ~500 vectors at 1M (k-means cost grows with nlist^2)
MIN_LISTS = 16
TRAIN_POINTS_PER_LIST = 40  # faiss k-means wants >= 39 points per centroid
MAX_TRAIN_POINTS = 200_000
HNSW_NEIGHBOURS = 32  # graph degree of the coarse quantiser
HNSW_EF_FLOOR = 64  # quantiser efSearch is max(this, 2 * nprobe)
TUNING_QUERIES = 500
KMEANS_SEED = 1234
KMEANS_ITERATIONS = 10  # faiss's own default for IVF training

KIND_FLAT = "flat_ip"
KIND_IVF = "ivf_hnsw_flat"


@dataclass(frozen=True)
class IndexChoice:
    """Which index a size gets, and why (logged and stored in the manifest)."""

    kind: str
    nlist: int  # 0 for exact search


def choose_index(n_vectors: int, exact_max: int = EXACT_MAX_VECTORS) -> IndexChoice:
    """Exact search below ``exact_max`` vectors; IVF with about 2 sqrt(N) lists above."""
    if n_vectors < exact_max:
        return IndexChoice(KIND_FLAT, 0)
    nlist = max(MIN_LISTS, int(LISTS_PER_SQRT_N * math.sqrt(n_vectors)))
    nlist = min(nlist, n_vectors // TRAIN_POINTS_PER_LIST)
    return IndexChoice(KIND_IVF, max(nlist, 1))


def _as_matrix(vectors: np.ndarray, dim: int | None = None) -> np.ndarray:
    matrix = np.ascontiguousarray(vectors, dtype=np.float32)
    if matrix.ndim != 2 or (dim is not None and matrix.shape[1] != dim):
        raise ValueError(f"vectors have shape {matrix.shape}, expected (N, {dim or 'D'})")
    return matrix


class VectorIndex:
    """One FAISS index plus the search settings it needs; searches return cosine scores."""

    def __init__(self, faiss_index: faiss.Index, kind: str, nprobe: int = 0) -> None:
        self.faiss_index = faiss_index
        self.kind = kind
        self.nprobe = nprobe
        self._apply_nprobe()

    @property
    def dim(self) -> int:
        return int(self.faiss_index.d)

    @property
    def ntotal(self) -> int:
        return int(self.faiss_index.ntotal)

    def _apply_nprobe(self) -> None:
        if self.kind != KIND_IVF:
            return
        ivf = faiss.extract_index_ivf(self.faiss_index)
        ivf.nprobe = self.nprobe
        quantizer = faiss.downcast_index(ivf.quantizer)
        quantizer.hnsw.efSearch = max(HNSW_EF_FLOOR, 2 * self.nprobe)

    def set_nprobe(self, nprobe: int) -> None:
        """Change how many IVF lists a search visits (not thread-safe: call before serving)."""
        self.nprobe = int(nprobe)
        self._apply_nprobe()

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k rows for each query: (scores (Q, k) cosine, ids (Q, k) int64, -1 where fewer exist)."""
        queries = _as_matrix(queries, self.dim)  # (Q, D)
        distances, ids = self.faiss_index.search(queries, k)  # (Q, k), (Q, k)
        scores = distances if self.kind == KIND_FLAT else 1.0 - distances / 2.0
        return scores.astype(np.float32), ids

    def add(self, vectors: np.ndarray) -> None:
        """Append vectors; they get the next ids (ntotal, ntotal + 1, ...)."""
        self.faiss_index.add(_as_matrix(vectors, self.dim))

    def vectors(self) -> np.ndarray:
        """All stored vectors (N, D), in id order (used to rebuild after incremental adds)."""
        if self.kind == KIND_IVF:
            faiss.extract_index_ivf(self.faiss_index).make_direct_map()
        return self.faiss_index.reconstruct_n(0, self.ntotal)  # (N, D)

    def save(self, path: Path) -> None:
        faiss.write_index(self.faiss_index, str(path))

    @classmethod
    def load(cls, path: Path, kind: str, nprobe: int) -> "VectorIndex":
        return cls(faiss.read_index(str(path)), kind, nprobe)


def _split_rows(n_vectors: int, nlist: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Rows to train the quantiser on and held-out rows to tune nprobe with (disjoint, sorted)."""
    order = rng.permutation(n_vectors)
    n_queries = min(TUNING_QUERIES, n_vectors // 10)
    n_train = min(n_vectors - n_queries, nlist * TRAIN_POINTS_PER_LIST, MAX_TRAIN_POINTS)
    return np.sort(order[n_queries:n_queries + n_train]), np.sort(order[:n_queries])


def _build_ivf(vectors: np.ndarray, nlist: int, train_rows: np.ndarray) -> faiss.Index:
    """An IVF index holding every vector, whose lists come from k-means on ``train_rows``.

    k-means runs with exact assignment (training through the HNSW quantiser would rebuild the graph
    every iteration); the centroids then go into the HNSW graph that routes queries and additions.
    """
    dim = vectors.shape[1]
    logger.info("training IVF with %d lists on %d of %d vectors", nlist, len(train_rows), len(vectors))
    kmeans = faiss.Kmeans(dim, nlist, niter=KMEANS_ITERATIONS, seed=KMEANS_SEED)
    kmeans.train(vectors[train_rows])
    quantizer = faiss.IndexHNSWFlat(dim, HNSW_NEIGHBOURS)
    quantizer.add(kmeans.centroids)  # (nlist, D)
    ivf = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_L2)  # trained: the quantiser holds nlist centroids
    ivf.add(vectors)
    return ivf


def recall_at_k(found_ids: np.ndarray, true_ids: np.ndarray, k: int = RECALL_K) -> float:
    """Mean fraction of the true top-k found in the returned top-k (both (Q, >=k))."""
    hits = [len(set(found[:k]) & set(true[:k])) / k for found, true in zip(found_ids, true_ids)]
    return float(np.mean(hits))


def _drop_self(ids: np.ndarray, query_rows: np.ndarray, k: int) -> np.ndarray:
    """Remove each query's own row from its result list and keep k ids: (Q, k+1) -> (Q, k)."""
    kept = [row[row != own][:k] for row, own in zip(ids, query_rows)]
    return np.stack([np.pad(row, (0, k - len(row)), constant_values=-1) for row in kept])


def tune_nprobe(
    index: VectorIndex, vectors: np.ndarray, query_rows: np.ndarray, target: float = TARGET_RECALL
) -> tuple[int, float]:
    """Smallest power-of-two nprobe whose recall@10 vs exact search reaches ``target``.

    Queries are library rows held out of quantiser training; each query's own row is dropped from
    both result lists, so recall measures finding the other neighbours, not the query itself.
    """
    queries = vectors[query_rows]  # (Q, D)
    exact = faiss.IndexFlatIP(vectors.shape[1])
    exact.add(vectors)
    _, true_ids = exact.search(queries, RECALL_K + 1)  # (Q, k+1)
    true_ids = _drop_self(true_ids, query_rows, RECALL_K)
    nlist = faiss.extract_index_ivf(index.faiss_index).nlist
    nprobe, recall = 1, 0.0
    while True:
        index.set_nprobe(nprobe)
        _, found = index.search(queries, RECALL_K + 1)
        recall = recall_at_k(_drop_self(found, query_rows, RECALL_K), true_ids)
        logger.info("nprobe %d: recall@%d %.4f", nprobe, RECALL_K, recall)
        if recall >= target or nprobe >= nlist:
            return nprobe, recall
        nprobe = min(nprobe * 2, nlist)


@dataclass(frozen=True)
class BuiltIndex:
    index: VectorIndex
    tuned_recall: float | None  # recall@10 vs exact at the chosen nprobe; None for exact search


def build_index(vectors: np.ndarray, exact_max: int = EXACT_MAX_VECTORS, seed: int = 0) -> BuiltIndex:
    """Index unit-length vectors (N, D); the type follows ``choose_index``."""
    vectors = _as_matrix(vectors)  # (N, D)
    choice = choose_index(len(vectors), exact_max)
    if choice.kind == KIND_FLAT:
        flat = faiss.IndexFlatIP(vectors.shape[1])
        flat.add(vectors)
        return BuiltIndex(VectorIndex(flat, KIND_FLAT), None)
    train_rows, query_rows = _split_rows(len(vectors), choice.nlist, np.random.default_rng(seed))
    index = VectorIndex(_build_ivf(vectors, choice.nlist, train_rows), KIND_IVF, nprobe=1)
    nprobe, recall = tune_nprobe(index, vectors, query_rows)
    logger.info("IVF index: %d lists, nprobe %d, recall@%d %.3f", choice.nlist, nprobe, RECALL_K, recall)
    return BuiltIndex(index, recall)


class IndexSlot:
    """A lazily loaded index shared by reader threads; the first reader loads it under a lock."""

    def __init__(self, path: Path, kind: str, nprobe: int) -> None:
        self._path, self._kind, self._nprobe = path, kind, nprobe
        self._index: VectorIndex | None = None
        self._lock = threading.Lock()

    def get(self) -> VectorIndex:
        if self._index is None:
            with self._lock:
                if self._index is None:
                    self._index = VectorIndex.load(self._path, self._kind, self._nprobe)
        return self._index
