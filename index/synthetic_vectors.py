"""Clustered random unit vectors that stand in for embeddings in tests and benchmarks (no model)."""
from __future__ import annotations

import numpy as np

DEFAULT_SPREAD = 0.35  # within-cluster noise relative to the unit-length centre
CHUNK_ROWS = 100_000  # generate in chunks so 1M x 256 never needs float64 copies


def clustered_unit_vectors(
    n_vectors: int, dim: int, n_clusters: int, seed: int = 0, spread: float = DEFAULT_SPREAD
) -> np.ndarray:
    """(N, D) float32 unit vectors drawn around ``n_clusters`` random centres, like embeddings of
    recordings that share diagnoses; ``spread`` sets how tight each cluster is."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_clusters, dim)).astype(np.float32)  # (K, D)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    vectors = np.empty((n_vectors, dim), dtype=np.float32)  # (N, D)
    for start in range(0, n_vectors, CHUNK_ROWS):
        stop = min(start + CHUNK_ROWS, n_vectors)
        members = rng.integers(0, n_clusters, size=stop - start)  # (n,)
        noise = rng.standard_normal((stop - start, dim)).astype(np.float32) * (spread / np.sqrt(dim))
        chunk = centres[members] + noise  # (n, D)
        vectors[start:stop] = chunk / np.linalg.norm(chunk, axis=1, keepdims=True)
    return vectors
