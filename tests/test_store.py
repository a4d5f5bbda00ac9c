"""Array store: round trip equals the source within float16 precision; rejects skipped; resume works."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import melp
from melp.datasets import ArrayStoreDataset, MimicDataset, convert_to_store, open_dataset
from melp.datasets.store import MANIFEST
from tests.dataset_fixtures import sine_signal, write_mimic

SMALL = melp.PreprocessConfig(fs=100.0, seconds=2.0)
STATEMENTS = ("a", "b", "c")
FLOAT16_TOLERANCE = 1e-3  # preprocessed signals lie in [0, 1]; float16 keeps ~3 decimal digits there


@pytest.fixture()
def source(tmp_path):
    studies = [{"subject_id": 100 + k, "study_id": 5000 + k, "report_lines": ["Sinus rhythm", f"Finding {k} noted"],
                "signal": sine_signal(k), "labels": (k % 2, (k + 1) % 2, k % 3 == 0)} for k in range(9)]
    studies[4]["signal"][:] = 0.0  # every lead flat: rejected (a short NaN gap would be interpolated)
    write_mimic(tmp_path / "corpus", studies, synth_statements=STATEMENTS)
    return MimicDataset(tmp_path / "corpus", "all", SMALL, name="synth")


def test_store_round_trip_matches_source(source, tmp_path):
    store = ArrayStoreDataset(convert_to_store(source, tmp_path / "store", chunk=2))
    kept = [i for i in range(len(source)) if source.record_id(i) != "5004"]
    assert len(store) == len(kept) == 8
    for position, index in enumerate(kept):
        expected, got = source[index], store[position]
        np.testing.assert_allclose(got["signal"], expected["signal"], atol=FLOAT16_TOLERANCE)
        assert got["signal"].dtype == np.float32
        np.testing.assert_array_equal(got["lead_mask"], expected["lead_mask"])
        np.testing.assert_array_equal(got["labels"], expected["labels"])
        assert (got["report"], got["record_id"]) == (expected["report"], expected["record_id"])
    assert store.label_names == STATEMENTS and store.preprocess_config == SMALL


def test_interrupted_conversion_resumes_to_same_store(source, tmp_path):
    convert_to_store(source, tmp_path / "full")
    partial = tmp_path / "partial"
    convert_to_store(source, partial, chunk=3)
    manifest = json.loads((partial / MANIFEST).read_text())
    manifest.update(rows_done=3, complete=False)  # as if killed after the first chunk
    (partial / MANIFEST).write_text(json.dumps(manifest))
    signals = np.load(partial / "signals.f16.npy", mmap_mode="r+")
    signals[3:] = 0
    signals.flush()
    with pytest.raises(ValueError, match="incomplete"):
        ArrayStoreDataset(partial)
    convert_to_store(source, partial, chunk=3)
    np.testing.assert_array_equal(np.load(partial / "signals.f16.npy"), np.load(tmp_path / "full" / "signals.f16.npy"))


def test_store_from_other_source_is_refused(source, tmp_path):
    convert_to_store(source, tmp_path / "store")
    other = MimicDataset(source.root, "all", melp.PreprocessConfig(fs=100.0, seconds=1.0), name="synth")
    with pytest.raises(ValueError, match="different source"):
        convert_to_store(other, tmp_path / "store")


def test_open_dataset_opens_store_and_checks_config(source, tmp_path):
    convert_to_store(source, tmp_path / "store")
    assert len(open_dataset("synth", tmp_path / "store", "all", SMALL)) == 8
    with pytest.raises(ValueError, match="preprocessed"):
        open_dataset("synth", tmp_path / "store", "all", melp.PreprocessConfig())


def test_store_batches_through_dataloader(source, tmp_path):
    store = ArrayStoreDataset(convert_to_store(source, tmp_path / "store"))
    batch = next(iter(torch.utils.data.DataLoader(store, batch_size=4, shuffle=True,
                                                  generator=torch.Generator().manual_seed(0))))
    assert batch["signal"].shape == (4, 12, 200) and batch["labels"].shape == (4, 3) and len(batch["report"]) == 4
    for k, record_id in enumerate(batch["record_id"]):
        row = [store.record_id(i) for i in range(len(store))].index(record_id)
        np.testing.assert_array_equal(batch["signal"][k].numpy(), store[row]["signal"])
