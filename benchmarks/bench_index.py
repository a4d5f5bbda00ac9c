"""Retrieval speed and recall: IVF vs exact FAISS vs brute-force numpy on clustered vectors, plus the
end-to-end ``similar_ecgs`` latency of the default library when a model is available.

    python -m benchmarks.bench_index [--vectors 1000000] [--dim 256] [--model PATH] [--no-write]

Appends (or replaces) the "Retrieval index" section of benchmarks/RESULTS.md.
"""
from __future__ import annotations

import argparse
import logging
import os
import re
import resource
import time
from pathlib import Path

import faiss
import numpy as np

from benchmarks.machine import machine_line
from index.faiss_index import EXACT_MAX_VECTORS, RECALL_K, build_index, recall_at_k
from index.synthetic_vectors import clustered_unit_vectors

logger = logging.getLogger("bench_index")

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
SECTION_TITLE = "## Retrieval index (benchmarks/bench_index.py)"
DEFAULT_VECTORS = 1_000_000
N_CLUSTERS = 2000  # diagnoses x patients: each cluster ~500 vectors at 1M
N_LATENCY_QUERIES = 200  # single-vector queries timed one by one
N_RECALL_QUERIES = 1000
QUERY_NOISE = 0.05  # queries are perturbed library vectors (new ECGs near known ones)
E2E_QUERIES = 20
NUMPY_QUERY_CHUNK = 100  # 100 x 1M float32 scores = 400 MB


def _queries(vectors: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    picked = vectors[rng.choice(len(vectors), n, replace=False)]
    noisy = picked + QUERY_NOISE * rng.standard_normal(picked.shape).astype(np.float32) / np.sqrt(vectors.shape[1])
    return (noisy / np.linalg.norm(noisy, axis=1, keepdims=True)).astype(np.float32)  # (Q, D)


def _latencies_ms(search, queries: np.ndarray) -> tuple[float, float]:
    times = []
    for query in queries:
        start = time.perf_counter()
        search(query[None, :])
        times.append((time.perf_counter() - start) * 1000)
    return float(np.percentile(times, 50)), float(np.percentile(times, 99))


def _numpy_top_k(vectors: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Exact top-k ids (Q, k) by one matmul per chunk of queries (a (chunk, N) score block at a time)."""
    found = []
    for start in range(0, len(queries), NUMPY_QUERY_CHUNK):
        scores = queries[start:start + NUMPY_QUERY_CHUNK] @ vectors.T  # (q, N)
        top = np.argpartition(-scores, k, axis=1)[:, :k]  # (q, k) unordered
        order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1)
        found.append(np.take_along_axis(top, order, axis=1))
    return np.concatenate(found)


def bench_indexes(n_vectors: int, dim: int) -> list[dict]:
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    vectors = clustered_unit_vectors(n_vectors, dim, N_CLUSTERS, seed=0)  # (N, D)
    logger.info("generated %d x %d vectors in %.1f s", n_vectors, dim, time.perf_counter() - start)
    recall_queries = _queries(vectors, N_RECALL_QUERIES, rng)  # (Q, D)
    latency_queries = _queries(vectors, N_LATENCY_QUERIES, rng)
    true_ids = _numpy_top_k(vectors, recall_queries, RECALL_K)  # brute force is the ground truth
    rows = []
    start = time.perf_counter()
    exact = faiss.IndexFlatIP(dim)
    exact.add(vectors)
    exact_build = time.perf_counter() - start
    start = time.perf_counter()
    ivf = build_index(vectors, exact_max=min(EXACT_MAX_VECTORS, n_vectors))
    ivf_build = time.perf_counter() - start
    nlist = faiss.extract_index_ivf(ivf.index.faiss_index).nlist
    methods = (
        (f"IVF-HNSW flat ({nlist} lists, nprobe {ivf.index.nprobe}, tuned)", ivf_build,
         lambda q: ivf.index.search(q, RECALL_K)[1]),
        ("exact FAISS IndexFlatIP", exact_build, lambda q: exact.search(q, RECALL_K)[1]),
        ("brute-force numpy (matmul + argpartition)", 0.0, lambda q: _numpy_top_k(vectors, q, RECALL_K)),
    )
    for name, build_s, search in methods:
        p50, p99 = _latencies_ms(search, latency_queries)
        recall = recall_at_k(search(recall_queries), true_ids)
        rows.append({"method": name, "build_s": build_s, "p50_ms": p50, "p99_ms": p99, "recall": recall})
        logger.info("%s: build %.1f s, p50 %.2f ms, p99 %.2f ms, recall@%d %.4f",
                    name, build_s, p50, p99, RECALL_K, recall)
    return rows


def bench_library(model_path: str | None) -> str:
    """similar_ecgs latency on the default library, or why it was skipped."""
    import melp
    from index.default import default_library
    from index.sources import simulate

    try:
        model = melp.load(model_path)
    except (FileNotFoundError, ValueError, OSError) as error:
        return f"skipped: no model available ({error})"
    library = default_library(model)
    records = [simulate(9, i) for i in range(E2E_QUERIES)]  # unseen records (another seed)
    library.similar_ecgs(records[0], 5)  # warm-up: lazy index and metadata loads
    times = []
    for record in records:
        start = time.perf_counter()
        library.similar_ecgs(record, 5)
        times.append((time.perf_counter() - start) * 1000)
    return (f"{len(library)} records ({library.manifest.ecg_index.kind}); similar_ecgs(record, k=5) incl. "
            f"preprocessing and encoding: p50 {np.percentile(times, 50):.0f} ms, p99 {np.percentile(times, 99):.0f} ms")


def _section(rows: list[dict], n_vectors: int, dim: int, library_line: str, command: str) -> str:
    lines = [SECTION_TITLE, "",
             f"{n_vectors:,} clustered unit vectors ({N_CLUSTERS} clusters), {dim}-d float32; queries are perturbed "
             f"library vectors; recall@{RECALL_K} against brute force; latency of single-vector queries. "
             f"{machine_line()} at the end (other jobs share the CPUs when above ~2), "
             f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}.",
             f"Command: `{command}`", "",
             "| method | build (s) | p50 (ms) | p99 (ms) | recall@10 |", "|---|---|---|---|---|"]
    lines += [f"| {r['method']} | {r['build_s']:.1f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['recall']:.4f} |"
              for r in rows]
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # ru_maxrss is in KiB on Linux
    lines += ["", f"Peak resident memory of the whole run: {peak_gb:.1f} GB.",
              f"Default library end to end: {library_line}", ""]
    return "\n".join(lines)


def write_section(section: str) -> None:
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    pattern = re.compile(re.escape(SECTION_TITLE) + r".*?(?=^## |\Z)", flags=re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    RESULTS.write_text(text)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vectors", type=int, default=DEFAULT_VECTORS)
    parser.add_argument("--dim", type=int, default=256)
    parser.add_argument("--model", default=None, help="checkpoint for the end-to-end library timing")
    parser.add_argument("--no-write", action="store_true", help="do not touch RESULTS.md")
    args = parser.parse_args()
    rows = bench_indexes(args.vectors, args.dim)
    library_line = bench_library(args.model)
    logger.info("default library: %s", library_line)
    size_flag = f" --vectors {args.vectors}" if args.vectors != DEFAULT_VECTORS else ""
    command = f"OMP_NUM_THREADS=2 python -m benchmarks.bench_index{size_flag}"
    section = _section(rows, args.vectors, args.dim, library_line, command)
    if not args.no_write:
        write_section(section)
    logger.info("\n%s", section)


if __name__ == "__main__":
    main()
