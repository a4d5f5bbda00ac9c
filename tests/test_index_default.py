"""The default library: simulated records regenerated from seeds, rebuilt when the model changes."""
import logging

import numpy as np

from index.default import DEFAULT_SEED, default_library
from index.manifest import model_fingerprint
from melp.synth import simulate_record
from tiny_melp import tiny_model

N_RECORDS = 6


def test_default_library_is_built_once_and_reopened(tmp_path, caplog):
    model = tiny_model(seed=0)
    with caplog.at_level(logging.WARNING, logger="index.default"):
        first = default_library(model, tmp_path / "cache", N_RECORDS, committed_dir=tmp_path / "none")
        built_at = first.manifest.created
        second = default_library(model, tmp_path / "cache", N_RECORDS, committed_dir=tmp_path / "none")
    assert len(second) == N_RECORDS and second.manifest.created == built_at
    assert sum("building the default library" in message for message in caplog.messages) == 1


def test_default_library_rebuilds_with_a_message_when_the_model_changes(tmp_path, caplog):
    default_library(tiny_model(seed=0), tmp_path / "cache", N_RECORDS, committed_dir=tmp_path / "none")
    with caplog.at_level(logging.WARNING, logger="index.default"):
        rebuilt = default_library(tiny_model(seed=1), tmp_path / "cache", N_RECORDS, committed_dir=tmp_path / "none")
    assert any("built for another model" in message for message in caplog.messages)
    assert rebuilt.manifest.model_fingerprint == model_fingerprint(tiny_model(seed=1))


def test_default_library_records_are_regenerated_from_their_seed(tmp_path):
    library = default_library(tiny_model(seed=0), tmp_path / "cache", N_RECORDS, committed_dir=tmp_path / "none")
    expected = simulate_record(DEFAULT_SEED, 4).record
    record = library.record(4)
    np.testing.assert_array_equal(record.signal, expected.signal)
    assert record.report == expected.report and record.labels == expected.labels
    assert library.table()["source_path"].isna().all()  # no waveform is stored
