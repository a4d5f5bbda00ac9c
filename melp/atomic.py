"""Files and folders that appear whole or not at all: written beside the target, then renamed over it.

A reader (or a resumed run) sees the previous file or folder or the new one, never half of one.
``durable=True`` also flushes to disk before and after the rename, for state that must survive a power
cut (retrieval libraries); everything else only needs to survive a killed process.

Folders (checkpoints, libraries): fill ``new_temp_folder(target)``, then ``replace_folder``. The old
folder is renamed aside before the new one is renamed in; a crash between the two renames is undone by
``recover_interrupted_swap`` (called by the next write and by readers).
"""
from __future__ import annotations

import contextlib
import logging
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

logger = logging.getLogger(__name__)

TEMP_MARKER = ".tmp-"  # temporaries: .<file>.tmp-<8 hex> (hidden) and <folder>.tmp-<8 hex>, unique per writer
BACKUP_MARKER = ".old-"  # a previous folder moved aside during a swap: <folder>.old-<8 hex>


def _suffix() -> str:
    return uuid.uuid4().hex[:8]


def fsync_path(path: Path) -> None:
    """Flush a file's or folder's contents to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def replacing(path: str | Path, *, durable: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` to write; a clean exit renames it over ``path``.

    If the block raises, the temporary is removed and ``path`` is left as it was.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}{TEMP_MARKER}{_suffix()}")
    try:
        yield tmp
        if durable:
            fsync_path(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    if durable:
        fsync_path(path.parent)


def write_bytes_atomic(path: str | Path, data: bytes, *, durable: bool = False) -> None:
    with replacing(path, durable=durable) as tmp:
        tmp.write_bytes(data)


def write_text_atomic(path: str | Path, text: str, *, durable: bool = False) -> None:
    """UTF-8, newlines written exactly as given (no platform translation)."""
    write_bytes_atomic(path, text.encode("utf-8"), durable=durable)


def fsync_tree(folder: Path) -> None:
    for path in sorted(folder.rglob("*")):
        fsync_path(path)
    fsync_path(folder)


def new_temp_folder(target: Path) -> Path:
    """An empty folder next to ``target`` (same filesystem, so the final rename is atomic)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f"{target.name}{TEMP_MARKER}{_suffix()}")
    tmp.mkdir()
    return tmp


def recover_interrupted_swap(target: Path) -> None:
    """If a swap died after moving the old folder aside, put the old folder back."""
    if target.exists():
        return
    backups = sorted(target.parent.glob(f"{target.name}{BACKUP_MARKER}*"))
    if backups:
        logger.warning("%s: restoring %s left by an interrupted write", target, backups[-1].name)
        os.rename(backups[-1], target)


def replace_folder(tmp: Path, target: Path, *, durable: bool = False) -> None:
    """Make the complete folder ``tmp`` become ``target``, replacing any previous one.

    A previous folder is moved aside, the new one renamed in, and the old one deleted; a crash between
    the two renames is undone by ``recover_interrupted_swap``. ``durable`` fsyncs ``tmp`` first.
    """
    if durable:
        fsync_tree(tmp)
    recover_interrupted_swap(target)
    backup = None
    if target.exists():
        backup = target.with_name(f"{target.name}{BACKUP_MARKER}{_suffix()}")
        os.rename(target, backup)
    os.rename(tmp, target)
    if durable:
        fsync_path(target.parent)
    if backup is not None:
        shutil.rmtree(backup)


def remove_stale_file_temporaries(path: Path) -> None:
    """Delete the hidden temporaries (``.<name>.tmp-*``) that killed ``replacing`` writes left beside ``path``.

    Only for files with a single writer (a training checkpoint): another writer's temporary would go too.
    """
    for stale in Path(path).parent.glob(f".{Path(path).name}{TEMP_MARKER}*"):
        logger.info("removing %s left by an interrupted write", stale.name)
        stale.unlink(missing_ok=True)


def remove_stale_temporaries(target: Path) -> None:
    """Delete temporary folders that crashed writes left next to ``target``."""
    for stale in target.parent.glob(f"{target.name}{TEMP_MARKER}*"):
        logger.info("removing %s left by an interrupted write", stale)
        if stale.is_dir():
            shutil.rmtree(stale)
        else:
            stale.unlink()
