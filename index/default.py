"""The default demo library, opened by the app with no set-up.

The committed copy (``index/default/``) holds real PTB-XL ECGs of the training folds (1-8) with their
English texts, each kept as a compact display copy (``index.display_signals``, so the app shows them
without a PTB-XL download), next to simulated records regenerated from (seed, index) on demand
(``simulated:DEFAULT_SEED:N``). Every row says which it is (``origin``). PTB-XL: Wagner et al. 2020,
PhysioNet, CC BY 4.0.
Lookup order: the committed copy when its fingerprint matches the model, then the git-ignored cache
``.cache/library-default``; otherwise the cache is (re)built from simulated records only (PTB-XL is not
in the repository), with a progress bar and a logged message, e.g. for a model of your own.

    python -m index.default [--model PATH] [--out index/default] --ptbxl PTBXL   # write the committed copy

With ``--ptbxl`` the committed copy also carries a reference set (``index.reference``): the embeddings of
every training-fold record, which free-text percentiles rank against.
"""
from __future__ import annotations

import argparse
import fcntl
import logging
from pathlib import Path
from typing import Any

from melp.logs import configure_logging
from index.build import build_library
from index.library import Library
from index.manifest import MANIFEST_FILE, Manifest, model_fingerprint
from index.reference import add_reference

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[1]
COMMITTED_DIR = REPO_ROOT / "index" / "default"
CACHE_DIR = REPO_ROOT / ".cache" / "library-default"
DEFAULT_SEED = 90210  # a corpus seed the training corpus does not use, so library records are unseen
DEFAULT_RECORDS = 3000  # simulated rows of a cache built without PTB-XL (every statement ~30 records or more)
COMMITTED_SIMULATED = 600  # simulated rows beside the real ones in the committed copy
COMMITTED_REAL = 2400  # PTB-XL rows of the committed copy
COMMITTED_REFERENCE = 17418  # every record of PTB-XL's folds 1-8: the reference set free-text percentiles use
DEFAULT_BATCH_SIZE = 32
LOCK_FILE = ".lock"


def default_source(n_records: int = DEFAULT_RECORDS) -> str:
    return f"simulated:{DEFAULT_SEED}:{n_records}"


def committed_source(ptbxl: Path | str, n_real: int = COMMITTED_REAL, n_simulated: int = COMMITTED_SIMULATED) -> str:
    return f"ptbxl-train:{ptbxl}:{n_real};{default_source(n_simulated)}"


def committed_label(n_real: int = COMMITTED_REAL, n_simulated: int = COMMITTED_SIMULATED) -> str:
    """The committed copy's source as its manifest says it, without the builder's PTB-XL path."""
    return committed_source("PTBXL", n_real, n_simulated)


def _matches(folder: Path, fingerprint: str, source: str | None) -> bool:
    """A library for the model's fingerprint (and ``source``, unless None)."""
    if not (folder / MANIFEST_FILE).exists():
        return False
    manifest = Manifest.read(folder)
    return manifest.model_fingerprint == fingerprint and source in (None, manifest.source)


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
    if _matches(committed_dir, fingerprint, None):
        return Library.open(committed_dir, model)
    if _matches(cache_dir, fingerprint, source):
        return Library.open(cache_dir, model)
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

    configure_logging()
    parser = argparse.ArgumentParser(prog="python -m index.default", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None, help="checkpoint folder (default: the embedded checkpoint)")
    parser.add_argument("--out", type=Path, default=COMMITTED_DIR, help="where to write the library")
    parser.add_argument("--records", type=int, default=None,
                        help=f"simulated records (default {COMMITTED_SIMULATED} with --ptbxl, else {DEFAULT_RECORDS})")
    parser.add_argument("--ptbxl", type=Path, default=None, help="PTB-XL folder: real records of folds 1-8")
    parser.add_argument("--real-records", type=int, default=COMMITTED_REAL, help="PTB-XL records (with --ptbxl)")
    parser.add_argument("--reference-records", type=int, default=COMMITTED_REFERENCE,
                        help="PTB-XL training records in the reference set (with --ptbxl; 0: none)")
    args = parser.parse_args(argv)
    model = melp.load(args.model)
    if args.ptbxl is None:
        logger.warning("no --ptbxl: the library holds simulated records only")
        source = label = default_source(args.records or DEFAULT_RECORDS)
    else:
        n_simulated = COMMITTED_SIMULATED if args.records is None else args.records
        source = committed_source(args.ptbxl, args.real_records, n_simulated)
        label = committed_label(args.real_records, n_simulated)
    # the committed copy names no checkpoint path: it belongs to whatever model has its fingerprint
    build_library(source, args.out, model, None, DEFAULT_BATCH_SIZE, force=True, source_label=label)
    if args.ptbxl is not None and args.reference_records > 0:
        add_reference(args.out, f"ptbxl-train:{args.ptbxl}:{args.reference_records}", model, DEFAULT_BATCH_SIZE,
                      source_label=f"ptbxl-train:PTBXL:{args.reference_records}")
    _log_missing_statements(Library.open(args.out, model))


if __name__ == "__main__":
    main()
