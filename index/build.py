"""Build a retrieval library from a source of ECGs.

    python -m index.build --source synth:corpus/synth --out indexes/synth [--model checkpoints/melp-demo]
    torchrun --nproc_per_node 4 -m index.build --source mimic:/data/mimic-iv-ecg --out indexes/mimic

Embedding is batched and resumable: shards land in ``<out>.building`` and a re-run after a kill embeds
only the missing ones. Under torchrun each rank embeds every WORLD_SIZE-th shard (the shared folder is
the only channel between ranks) and rank 0 builds the indexes and writes the library atomically.
"""
from __future__ import annotations

import argparse
import logging
import os
import time
from pathlib import Path
from typing import Any, Callable

from melp.logs import configure_logging
from index.assemble import library_content, write_library
from index.embed import DEFAULT_BATCH_SIZE, DEFAULT_SHARD_SIZE, embed_into_store, read_all_shards, shard_count
from index.faiss_index import EXACT_MAX_VECTORS
from index.manifest import MANIFEST_FILE, Manifest, model_fingerprint
from index.sources import parse_source
from index.storage import ShardStore
from melp.atomic import recover_interrupted_swap

logger = logging.getLogger(__name__)

RANK_POLL_SECONDS = 2.0
RANK_WAIT_LIMIT_SECONDS = 24 * 3600.0  # how long one rank waits for the others' shards or plan


def _wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + RANK_WAIT_LIMIT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what}; re-run the same command to resume")
        time.sleep(RANK_POLL_SECONDS)


def _check_target(out: Path, force: bool) -> None:
    recover_interrupted_swap(out)
    if (out / MANIFEST_FILE).exists() and not force:
        raise FileExistsError(
            f"{out}: a library already exists; pass --force to rebuild it, or append with "
            f"python -m index.add --library {out} --source ..."
        )


def build_library(
    source: str,
    out: str | Path,
    model: Any,
    model_path: str | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    shard_size: int = DEFAULT_SHARD_SIZE,
    force: bool = False,
    exact_max: int = EXACT_MAX_VECTORS,
    on_shard_done: Callable[[int], None] | None = None,
    rank: int = 0,
    world: int = 1,
    source_label: str | None = None,
) -> Manifest | None:
    """Embed every record of ``source`` with ``model`` and write the library to ``out``.

    ``model_path`` is recorded in the manifest so ``Library.open`` can reload the same checkpoint;
    ``source_label`` (default ``source``) is how the manifest names the source (e.g. without a local path).
    Returns the manifest on rank 0 and None on the other ranks.
    """
    out = Path(out)
    _check_target(out, force)
    entries = parse_source(source)
    logger.info("%s: %d records to embed", source, len(entries))
    store = ShardStore.for_target(out)
    plan = {"source": source, "model_fingerprint": model_fingerprint(model), "n_entries": len(entries),
            "shard_size": shard_size, "batch_size": batch_size}
    if rank == 0:
        store.start(plan)
    else:
        _wait_for(lambda: store.read_plan() == plan, f"rank 0 to start {store.folder}")
    embed_into_store(model, entries, store, shard_size, batch_size, rank, world, on_shard_done)
    if rank != 0:
        return None
    n_shards = shard_count(len(entries), shard_size)
    _wait_for(lambda: all(store.is_done(s) for s in range(n_shards)), f"the other ranks' shards in {store.folder}")
    ecg_embeds, report_embeds, rows = read_all_shards(store, n_shards)
    content = library_content(rows, ecg_embeds, report_embeds)
    manifest = write_library(out, content, plan["model_fingerprint"], model_path, source_label or source, exact_max)
    store.discard()
    return manifest


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m index.build", description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", required=True,
                        help="folder:DIR | challenge:ROOT | ptbxl:ROOT | ptbxl-train:ROOT:N | mimic:ROOT | synth:DIR | "
                             "simulated:SEED:N, several joined by ';'")
    parser.add_argument("--out", required=True, type=Path, help="library folder to write, e.g. indexes/<name>")
    parser.add_argument("--model", default=None, help="checkpoint folder (default: the embedded checkpoint)")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    parser.add_argument("--shard-size", type=int, default=DEFAULT_SHARD_SIZE, help="records per resumable shard")
    parser.add_argument("--exact-max", type=int, default=EXACT_MAX_VECTORS,
                        help="use exact search below this many vectors, IVF above")
    parser.add_argument("--force", action="store_true", help="replace an existing library at --out")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    import melp

    configure_logging()
    args = _parse_args(argv)
    rank, world = int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))
    _check_target(args.out, args.force)  # before the (slow) model load
    model_path = str(Path(args.model).resolve()) if args.model else None  # the manifest works from any folder
    model = melp.load(model_path)
    manifest = build_library(args.source, args.out, model, model_path, args.batch_size, args.shard_size,
                             args.force, args.exact_max, rank=rank, world=world)
    if manifest is not None:
        logger.info("library %s: %d records, model %s", args.out, manifest.n_records, manifest.model_fingerprint)


if __name__ == "__main__":
    main()
