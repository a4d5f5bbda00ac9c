"""Uploaded files -> one readable record path inside a private temporary folder.

Every upload is copied (or, for a .zip, extracted) into a fresh per-request folder; archive members
that would land outside it (zip-slip), links, oversized files and images are refused with a message
that says what was found and what to upload instead.
"""
from __future__ import annotations

import logging
import shutil
import stat
import tempfile
import threading
import time
import zipfile
from collections import OrderedDict
from pathlib import Path, PurePosixPath

logger = logging.getLogger(__name__)

MAX_FILE_BYTES = 50 * 1024 * 1024  # one uploaded file (a 10 min 12-lead 1 kHz int16 record is ~14 MB)
MAX_ARCHIVE_MEMBERS = 64
MAX_ARCHIVE_BYTES = 200 * 1024 * 1024  # total uncompressed size of a .zip
MAX_COMPRESSION_RATIO = 200  # beyond this a member is treated as a zip bomb
RECORD_SUFFIXES = (".hea", ".dat", ".mat", ".csv", ".npy", ".npz")
ARCHIVE_SUFFIX = ".zip"
IGNORED_ARCHIVE_PARTS = ("__MACOSX",)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".webp", ".pdf", ".heic")
IMAGE_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"BM", b"II*\x00", b"MM\x00*", b"%PDF", b"RIFF")
UPLOAD_PREFIX = "melp-upload-"
ACCEPTED = ".hea + .dat (WFDB), .hea + .mat (challenge), .mat (CPSC2018), .csv, .npy, .npz, or a .zip holding one"
NEEDS_FS_SUFFIXES = (".npy", ".npz", ".csv")
# gradio stores an upload under a hash of its content, so two sessions uploading the same file share one
# copy on disk; the first to read it deletes it. The bytes stay in memory (never on disk) this long, for a
# second session whose request is still queued (the queue holds at most 64 requests of under a second).
HANDOFF_SECONDS = 180.0
HANDOFF_MAX_BYTES = 256 * 1024 * 1024
_handoff: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
_handoff_lock = threading.Lock()


class UploadError(ValueError):
    """An upload was refused; the message says what was found and what to upload instead."""


def _megabytes(n_bytes: int) -> str:
    return f"{n_bytes / 1024 / 1024:.1f} MB"


def _check_not_image(path: Path, name: str) -> None:
    with path.open("rb") as handle:
        head = handle.read(8)
    suffix = Path(name).suffix.lower()
    looks_like_image = head.startswith(IMAGE_MAGIC) and suffix not in (*RECORD_SUFFIXES, ARCHIVE_SUFFIX)
    if suffix in IMAGE_SUFFIXES or looks_like_image:
        raise UploadError(
            f"{name}: this is an image or PDF of an ECG; the app reads digital signals only. "
            f"Upload the recording itself: {ACCEPTED}"
        )


def _check_size(n_bytes: int, name: str, limit: int = MAX_FILE_BYTES) -> None:
    if n_bytes > limit:
        raise UploadError(f"{name}: {_megabytes(n_bytes)} is over the {_megabytes(limit)} limit; "
                          "upload a single 12-lead record (crop long recordings first)")


def _safe_member_name(member: zipfile.ZipInfo, archive: str) -> str | None:
    """The flat file name a member is extracted to, None for folders/ignored files; refuses unsafe entries."""
    name = member.filename.replace("\\", "/")
    parts = PurePosixPath(name).parts
    if name.startswith("/") or ".." in parts or (parts and ":" in parts[0]):
        raise UploadError(f"{archive}: member {member.filename!r} points outside the archive folder (zip-slip); "
                          "refusing the whole archive. Zip the record files without absolute or '..' paths")
    if stat.S_ISLNK(member.external_attr >> 16):
        raise UploadError(f"{archive}: member {member.filename!r} is a symbolic link; zip the real files instead")
    if member.is_dir() or any(part in IGNORED_ARCHIVE_PARTS for part in parts) or parts[-1].startswith("."):
        return None
    return parts[-1]


def _extract_zip(archive: Path, name: str, folder: Path) -> None:
    """Extract record files flat into folder, after checking every member."""
    try:
        with zipfile.ZipFile(archive) as bundle:
            members = bundle.infolist()
            if len(members) > MAX_ARCHIVE_MEMBERS:
                raise UploadError(f"{name}: {len(members)} entries, at most {MAX_ARCHIVE_MEMBERS}; zip one record")
            _check_size(sum(member.file_size for member in members), f"{name} (uncompressed)", MAX_ARCHIVE_BYTES)
            for member in members:
                target_name = _safe_member_name(member, name)
                if target_name is None or Path(target_name).suffix.lower() not in RECORD_SUFFIXES:
                    continue
                if member.compress_size and member.file_size / member.compress_size > MAX_COMPRESSION_RATIO:
                    raise UploadError(f"{name}: member {member.filename!r} expands {member.file_size // member.compress_size}x; "
                                      "refusing a possible zip bomb")
                _check_size(member.file_size, f"{name}:{member.filename}")
                with bundle.open(member) as source, (folder / target_name).open("wb") as target:
                    shutil.copyfileobj(source, target)
    except zipfile.BadZipFile as exc:
        raise UploadError(f"{name}: not a readable zip archive ({exc}); re-create it or upload the files directly") from exc


def _gradio_upload_folder() -> Path:
    from gradio.utils import get_upload_folder

    return Path(get_upload_folder()).resolve()


def _remember(key: str, data: bytes) -> None:
    """Keep an upload's bytes in memory for HANDOFF_SECONDS (oldest dropped beyond HANDOFF_MAX_BYTES)."""
    now = time.monotonic()
    with _handoff_lock:
        _handoff[key] = (now, data)
        _handoff.move_to_end(key)
        total = sum(len(kept) for _, kept in _handoff.values())
        for old in list(_handoff):
            stamp, kept = _handoff[old]
            if now - stamp > HANDOFF_SECONDS or total > HANDOFF_MAX_BYTES:
                total -= len(kept)
                del _handoff[old]


def _recall(source: Path) -> bytes | None:
    with _handoff_lock:
        stamp, data = _handoff.get(str(source), (0.0, None))
    return data if data is not None and time.monotonic() - stamp <= HANDOFF_SECONDS else None


def _readable(upload: str | Path, folder: Path) -> tuple[Path, str | None]:
    """(path to read an upload from, its key for the hand-off when it is gradio's shared copy). When another
    session's request has already read and deleted that copy, the path is a private file in folder holding
    the bytes kept in memory."""
    source = Path(upload).resolve()
    key = str(source) if _gradio_upload_folder() in source.parents else None
    if source.is_file():
        return source, key
    data = _recall(source) if key else None
    if data is None:
        raise UploadError(f"{source.name}: the uploaded file is no longer on the server (it is removed once "
                          "read); upload it again")
    handoff = folder / ".handoff"
    handoff.mkdir(exist_ok=True)
    (handoff / source.name).write_bytes(data)
    return handoff / source.name, None


def stage_upload(paths: list[str | Path], folder: Path) -> None:
    """Copy uploaded files (or extract a .zip) into folder, refusing images, oversized files and unsafe archives."""
    for upload in paths:
        source, key = _readable(upload, folder)
        name = source.name
        _check_size(source.stat().st_size, name)
        _check_not_image(source, name)
        suffix = source.suffix.lower()
        if suffix == ARCHIVE_SUFFIX:
            _extract_zip(source, name, folder)
            data = source.read_bytes() if key else b""
        elif suffix in RECORD_SUFFIXES:
            data = source.read_bytes()  # read once: the private copy and the hand-off share it
            (folder / name).write_bytes(data)
        else:
            raise UploadError(f"{name}: unsupported file type {suffix or '(none)'!r}; expected {ACCEPTED}")
        if key:
            _remember(key, data)


def pick_record(folder: Path) -> Path:
    """The file to hand to read_ecg: a .hea first, then .mat, .csv, .npy, .npz; one record per upload."""
    files = sorted(path for path in folder.iterdir() if path.is_file())
    for suffix in (".hea", ".mat", ".csv", ".npy", ".npz"):
        candidates = [path for path in files if path.suffix.lower() == suffix]
        if len(candidates) > 1:
            names = ", ".join(path.name for path in candidates)
            raise UploadError(f"found {len(candidates)} {suffix} files ({names}); upload one record at a time")
        if candidates:
            return candidates[0]
    if any(path.suffix.lower() == ".dat" for path in files):
        raise UploadError("found a .dat file without its .hea header; upload both files of the WFDB record together")
    raise UploadError(f"no ECG record among the uploaded files; expected {ACCEPTED}")


def new_upload_folder() -> Path:
    """A fresh private temporary folder for one request (the caller removes it)."""
    return Path(tempfile.mkdtemp(prefix=UPLOAD_PREFIX))


def discard_uploaded(paths: list[str | Path]) -> None:
    """Delete the files gradio saved for this request (only inside gradio's upload folder), and their
    folders when emptied: a patient's ECG is not left on the server after it was read. A second session
    that uploaded the same file reads it from memory (see _readable)."""
    cache = _gradio_upload_folder()
    for upload in paths:
        path = Path(upload).resolve()
        if cache not in path.parents:
            continue  # not a gradio upload (a test file, a path given through the API by the server itself)
        try:
            path.unlink(missing_ok=True)
            if path.parent != cache and not any(path.parent.iterdir()):
                path.parent.rmdir()
        except OSError as exc:
            logger.warning("could not delete the uploaded file %s: %s", path.name, exc)


def remove_upload_folder(folder: Path) -> None:
    try:
        shutil.rmtree(folder)
    except OSError as exc:
        logger.warning("could not remove upload folder %s: %s", folder, exc)
