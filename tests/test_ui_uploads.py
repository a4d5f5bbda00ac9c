"""Uploads through the app's handler: what is read, what is refused and why, and that nothing is left."""
from __future__ import annotations

import os
import tempfile
import zipfile
from pathlib import Path

import gradio as gr
import numpy as np
import pytest

from ui import handlers, uploads
from ui_records import sinus_like, write_wfdb


def test_upload_of_wfdb_pair_reads_record_and_leaves_no_files(tmp_path, monkeypatch):
    header = write_wfdb(tmp_path)
    temp_root = tmp_path / "tmp"
    temp_root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp_root))
    session, info, fig = handlers.load_upload([str(header), str(header.with_suffix(".dat"))], None)
    assert session.record.signal.shape == (12, 5000) and "500 Hz" in info and "age 63" in info
    assert session.r_peaks.size >= 10
    assert list(temp_root.iterdir()) == []


def test_upload_of_header_without_dat_shows_reader_message(tmp_path):
    header = write_wfdb(tmp_path)
    with pytest.raises(gr.Error, match="rec1"):
        handlers.load_upload([str(header)], None)


def test_upload_of_dat_without_header_is_refused(tmp_path):
    header = write_wfdb(tmp_path)
    with pytest.raises(gr.Error, match="without its .hea"):
        handlers.load_upload([str(header.with_suffix(".dat"))], None)


def test_zip_holding_a_record_is_read(tmp_path):
    header = write_wfdb(tmp_path)
    archive = tmp_path / "record.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.write(header, "ecg/rec1.hea")
        bundle.write(header.with_suffix(".dat"), "ecg/rec1.dat")
    session, _, _ = handlers.load_upload([str(archive)], None)
    assert session.record.n_samples == 5000


@pytest.mark.parametrize("member", ["../escape.hea", "/abs/escape.hea", "a/../../escape.hea"])
def test_zip_slip_archive_is_refused_and_writes_nothing_outside(tmp_path, member):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr(member, "rec 12 500 5000\n")
    target = tmp_path / "folder"
    target.mkdir()
    with pytest.raises(uploads.UploadError, match="zip-slip"):
        uploads.stage_upload([archive], target)
    assert list(target.iterdir()) == [] and not (tmp_path / "escape.hea").exists()
    with pytest.raises(gr.Error, match="zip-slip"):
        handlers.load_upload([str(archive)], None)


def test_oversized_upload_is_refused_before_reading(tmp_path):
    huge = tmp_path / "huge.dat"
    with huge.open("wb") as handle:
        handle.truncate(200 * 1024 * 1024)  # sparse: no real disk use
    with pytest.raises(gr.Error, match="over the"):
        handlers.load_upload([str(huge)], None)


@pytest.mark.parametrize("name, content", [("scan.png", b"\x89PNG\r\n\x1a\n0000"), ("ecg.jpg", b"\xff\xd8\xff\xe0"),
                                           ("ecg", b"%PDF-1.4")])
def test_images_of_ecgs_are_refused_with_a_clear_message(tmp_path, name, content):
    image = tmp_path / name
    image.write_bytes(content)
    with pytest.raises(gr.Error, match="image or PDF"):
        handlers.load_upload([str(image)], None)


def test_numpy_upload_uses_the_sampling_rate_hint(tmp_path):
    path = tmp_path / "ecg.npy"
    np.save(path, sinus_like(seconds=4.0))
    session, info, _ = handlers.load_upload([str(path)], 250)
    assert session.record.fs == 250 and "8.0 s" in info


def test_uploads_are_deleted_once_read_good_or_bad(tmp_path):
    from gradio.utils import get_upload_folder

    folder = Path(get_upload_folder()) / f"melp-test-{os.getpid()}"
    folder.mkdir(parents=True, exist_ok=True)
    good, bad = folder / "ecg.npy", folder / "bad.npy"
    np.save(good, sinus_like(seconds=4.0))
    np.save(bad, np.zeros((12, 2000)))  # all flat: refused
    private = lambda: set(Path(tempfile.gettempdir()).glob(uploads.UPLOAD_PREFIX + "*"))  # noqa: E731
    before = private()
    handlers.load_upload([str(good)], 250)
    with pytest.raises(gr.Error, match="flat"):
        handlers.load_upload([str(bad)], 250)
    assert not good.exists() and not bad.exists() and not folder.exists()
    assert private() == before  # the private copies are gone too


def test_one_gradio_upload_shared_by_two_sessions_reads_in_both(tmp_path, monkeypatch):
    """gradio stores identical uploads once (a hash of the content names the folder): a second session
    whose request was queued behind the first's still reads the file the first one deleted."""
    from gradio.utils import get_upload_folder

    folder = Path(get_upload_folder()) / f"melp-shared-{os.getpid()}"
    folder.mkdir(parents=True, exist_ok=True)
    shared = folder / "ecg.npy"
    np.save(shared, sinus_like(seconds=4.0))
    first, _, _ = handlers.load_upload([str(shared)], 250)
    assert not shared.exists()
    second, _, _ = handlers.load_upload([str(shared)], 250)  # the same path, already deleted from disk
    np.testing.assert_array_equal(first.record.signal, second.record.signal)
    # past the hand-off time the bytes are gone from memory too, and the message says to upload again
    clock = uploads.time.monotonic() + uploads.HANDOFF_SECONDS + 1
    monkeypatch.setattr(uploads.time, "monotonic", lambda: clock)
    with pytest.raises(gr.Error, match="upload it again"):
        handlers.load_upload([str(shared)], 250)


def test_infinite_samples_in_an_upload_are_repaired_not_fatal(tmp_path):
    signal = sinus_like(seconds=4.0)
    signal[3, 100:103] = np.inf
    path = tmp_path / "ecg.npy"
    np.save(path, signal)
    session, info, _ = handlers.load_upload([str(path)], 250)
    assert np.isfinite(session.record.signal).all() and "interpolated" in info
