"""Files that appear whole or not at all: written beside the target, then renamed over it.

A reader (or a resumed run) sees the previous file or the new one, never half of one. ``durable=True``
also flushes the file and its folder to disk before and after the rename, for state that must survive
a power cut (retrieval libraries); everything else only needs to survive a killed process.
"""
from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

TEMP_MARKER = ".tmp-"  # hidden temporaries: .<name>.tmp-<8 hex>, unique per writer


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
    tmp = path.with_name(f".{path.name}{TEMP_MARKER}{uuid.uuid4().hex[:8]}")
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
