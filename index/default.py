"""The default demo library: synthetic records regenerated from seeds, opened by the app with no set-up.

The library holds ``DEFAULT_RECORDS`` records of the simulator (``simulated:DEFAULT_SEED:N``), so only
the indexes and metadata are stored and every waveform is regenerated from (seed, index) on demand.
Lookup order: the committed copy under ``index/default/`` when its fingerprint matches the model, then
the git-ignored cache ``.cache/library-default``; otherwise the cache is (re)built with a progress bar
and a logged message, e.g. after the default checkpoint changes.

    python -m index.default [--model PATH] [--out index/default]   # write the committed copy
"""
from __future__ import annotations

import argparse
import fcntl
import logging
from pathlib import Path
from typing import Any

from index.build import build_library
from index.library import Library
from index.manifest import MANIFEST_FILE, Manifest, model_fingerprint

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[1]
COMMITTED_DIR = REPO_ROOT / "index" / "default"
CACHE_DIR = REPO_ROOT / ".cache" / "library-default"
DEFAULT_SEED = 90210  # a corpus seed the training corpus does not use, so library records are unseen
DEFAULT_RECORDS = 3000  # every statement at >= 1 % of the default mix -> about 30 records or more each
DEFAULT_BATCH_SIZE = 32
LOCK_FILE = ".lock"


def default_source(n_records: int = DEFAULT_RECORDS) -> str:
    return f"simulated:{DEFAULT_SEED}:{n_records}"


def _matches(folder: Path, fingerprint: str, source: str) -> bool:
    if not (folder / MANIFEST_FILE).exists():
        return False
    manifest = Manifest.read(folder)
    return manifest.model_fingerprint == fingerprint and manifest.source == source


def _log_missing_statements(library: Library) -> None:
    from melp.synth import STATEMENTS

    present = {label for labels in library.table()["labels"] for label in labels}
    missing = sorted(set(STATEMENTS) - present)
    if missing:
        logger.warning("default library: no record has %s; raise DEFAULT_RECORDS", missing)


def default_library(
    model: Any = None, cache_dir: Path = CACHE_DIR, n_records: int = DEFAULT_RECORDS,
    committed_dir: Path = COMMITTED_DIR,
) -> Library:
    """Open the default library for ``model`` (default: ``melp.load()``), building it when needed."""
    if model is None:
        import melp

        model = melp.load()
    fingerprint, source = model_fingerprint(model), default_source(n_records)
    for folder in (committed_dir, cache_dir):
        if _matches(folder, fingerprint, source):
            return Library.open(folder, model)
    cache_dir.parent.mkdir(parents=True, exist_ok=True)
    with open(cache_dir.parent / f"{cache_dir.name}{LOCK_FILE}", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one process builds; the others wait, then open its result
        if not _matches(cache_dir, fingerprint, source):
            if (cache_dir / MANIFEST_FILE).exists():
                logger.warning("default library %s was built for another model (now %s): rebuilding it",
                               cache_dir, fingerprint)
            else:
                logger.warning("building the default library (%d synthetic records) in %s; this happens once "
                               "per model", n_records, cache_dir)
            build_library(source, cache_dir, model, batch_size=DEFAULT_BATCH_SIZE, force=True)
    library = Library.open(cache_dir, model)
    _log_missing_statements(library)
    return library


def main(argv: list[str] | None = None) -> None:
    import melp

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(prog="python -m index.default", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None, help="checkpoint folder (default: the embedded checkpoint)")
    parser.add_argument("--out", type=Path, default=COMMITTED_DIR, help="where to write the library")
    parser.add_argument("--records", type=int, default=DEFAULT_RECORDS)
    args = parser.parse_args(argv)
    model = melp.load(args.model)
    # the committed copy names no checkpoint path: it belongs to whatever model has its fingerprint
    build_library(default_source(args.records), args.out, model, None, DEFAULT_BATCH_SIZE, force=True)
    _log_missing_statements(Library.open(args.out, model))


if __name__ == "__main__":
    main()
