"""Libraries that keep display copies of real ECGs: the codec, and rows that open without the source files."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from index import display_signals
from index.build import build_library
from index.library import Library
from melp.record import EcgRecord
from tests.dataset_fixtures import write_ptbxl
from tests.test_datasets_ptbxl import LABEL_SPLITS, RECORDS
from tests.tiny_melp import tiny_model


def _record(fs: float = 500.0, seconds: float = 10.0) -> EcgRecord:
    rng = np.random.default_rng(0)
    t = np.arange(int(fs * seconds)) / fs
    lead_i, lead_ii = np.sin(2 * np.pi * 1.2 * t), 1.5 * np.cos(2 * np.pi * 1.2 * t)
    limb = [lead_i, lead_ii, lead_ii - lead_i, -(lead_i + lead_ii) / 2, lead_i - lead_ii / 2, lead_ii - lead_i / 2]
    chest = [rng.normal(0, 0.3) + np.sin(2 * np.pi * (1 + k) * t) for k in range(6)]
    return EcgRecord(signal=np.stack(limb + chest).astype(np.float32), fs=fs, record_id="r")


def test_display_copy_keeps_10_s_at_100_hz_within_the_quantisation_step():
    record = _record(fs=100.0)
    decoded = display_signals.decode(display_signals.encode(record), "r")
    assert decoded.fs == 100.0 and decoded.signal.shape == (12, 1000)
    assert np.abs(decoded.signal - record.signal).max() <= display_signals.STEP_MV  # derived leads too


def test_display_copy_resamples_and_crops_longer_faster_records():
    decoded = display_signals.decode(display_signals.encode(_record(fs=500.0, seconds=30.0)), "r")
    assert decoded.signal.shape == (12, 1000)


def test_display_copies_of_different_lengths_round_trip_through_the_file_format():
    copies = [display_signals.encode(_record(fs=100.0, seconds=seconds)) for seconds in (10.0, 4.0)]
    read_back = display_signals.read(display_signals.write(copies))
    assert [copy.shape for copy in read_back] == [(8, 1000), (8, 400)]
    assert all(np.array_equal(a, b) for a, b in zip(copies, read_back))


def test_a_record_missing_a_stored_lead_gets_no_display_copy():
    record = _record(fs=100.0)
    mask = np.ones(12, bool)
    mask[7] = False  # V2
    assert not display_signals.can_encode(EcgRecord(signal=record.signal, fs=100.0, lead_mask=mask))


def test_a_real_record_that_cannot_be_displayed_is_left_out_of_the_library_with_a_warning(caplog):
    from index.embed import load_readable
    from index.sources import SourceEntry

    whole = _record(fs=100.0)
    mask = np.ones(12, bool)
    mask[10] = False  # V5 flat: not recorded
    gap = EcgRecord(signal=whole.signal, fs=100.0, lead_mask=mask, record_id="ptbxl-12722")
    entries = [SourceEntry(lambda: gap, None, keep_signal=True), SourceEntry(lambda: whole, None, keep_signal=True),
               SourceEntry(lambda: gap, "kept/elsewhere.hea")]  # no display copy needed: read again later
    records, kept = load_readable(entries)
    assert [r.record_id for r in records] == ["r", "ptbxl-12722"] and kept == entries[1:]
    assert "ptbxl-12722" in caplog.text and "V5" in caplog.text


@pytest.mark.slow
def test_ptbxl_training_rows_open_without_the_ptbxl_folder_and_say_they_are_real(tmp_path):
    root = tmp_path / "ptbxl"
    root.mkdir()
    write_ptbxl(root, RECORDS, LABEL_SPLITS)
    model = tiny_model()
    build_library(f"ptbxl-train:{root}:3;simulated:5:2", tmp_path / "lib", model, force=True,
                  source_label="ptbxl-train:PTBXL:3;simulated:5:2")
    shutil.rmtree(root)  # the library must not need PTB-XL any more
    library = Library.open(tmp_path / "lib", model)
    table = library.table()
    assert table["origin"].tolist() == ["real (PTB-XL)"] * 3 + ["simulated"] * 2
    assert table["source_path"].isna().all()  # no path of the machine that built it
    assert library.manifest.source == "ptbxl-train:PTBXL:3;simulated:5:2"
    record = library.record(0)
    assert record.record_id == "ptbxl-1" and record.signal.shape[0] == 12 and record.report.startswith("sinus rhythm")
    assert set(table["record_id"][:3]) <= {"ptbxl-1", "ptbxl-2", "ptbxl-6"}  # training folds only
