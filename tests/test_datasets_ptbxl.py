"""PTB-XL: fold splits, label sets derived from scp_statements, records100/500 by model rate."""
from __future__ import annotations

import numpy as np
import pytest

import melp
from melp.datasets import PtbxlDataset
from melp.datasets.ptbxl import LABEL_SETS
from tests.dataset_fixtures import write_ptbxl

SMALL = melp.PreprocessConfig(fs=100.0, seconds=2.0)
RECORDS = [
    {"ecg_id": 1, "patient_id": 11, "strat_fold": 1, "scp_codes": {"NORM": 100.0, "SR": 0.0}, "report": "Sinusrhythmus normales EKG"},
    {"ecg_id": 2, "patient_id": 12, "strat_fold": 3, "scp_codes": {"IMI": 50.0, "PVC": 100.0, "AFIB": 0.0}, "report": "inferior MI"},
    {"ecg_id": 3, "patient_id": 13, "strat_fold": 9, "scp_codes": {"LVH": 100.0, "NDT": 100.0, "SR": 0.0}, "report": "LVH."},
    {"ecg_id": 4, "patient_id": 14, "strat_fold": 10, "scp_codes": {"CLBBB": 100.0, "SR": 0.0}, "report": "CLBBB"},
    {"ecg_id": 5, "patient_id": 15, "strat_fold": 10, "scp_codes": {"PVC": 100.0}, "report": "PVC"},
]


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return write_ptbxl(tmp_path_factory.mktemp("ptbxl"), RECORDS)


def _ids(dataset):
    return [dataset.record_id(i) for i in range(len(dataset))]


def test_folds_map_to_train_val_test(root):
    assert _ids(PtbxlDataset(root, "train", "super", SMALL)) == ["ptbxl-1", "ptbxl-2"]
    assert _ids(PtbxlDataset(root, "val", "super", SMALL)) == ["ptbxl-3"]
    assert _ids(PtbxlDataset(root, "test", "super", SMALL)) == ["ptbxl-4"]  # record 5 has no diagnostic code


def test_superclass_labels_come_from_diagnostic_class(root):
    dataset = PtbxlDataset(root, "val", "super", SMALL)
    positive = {name for name, value in zip(dataset.label_names, dataset.labels(0)) if value}
    assert positive == {"HYP", "STTC"}


def test_form_and_rhythm_sets_use_their_columns(root):
    form = PtbxlDataset(root, "train", "form", SMALL)
    assert _ids(form) == ["ptbxl-2"] and form.labels(0)[form.label_names.index("PVC")] == 1
    rhythm = PtbxlDataset(root, "train", "rhythm", SMALL)
    assert _ids(rhythm) == ["ptbxl-1", "ptbxl-2"]
    assert rhythm.labels(1)[rhythm.label_names.index("AFIB")] == 1  # any likelihood counts


def test_label_set_sizes_match_merl():
    assert {name: len(names) for name, names in LABEL_SETS.items()} == {"super": 5, "sub": 23, "form": 19, "rhythm": 12}


def test_model_rate_chooses_records_folder(root):
    assert PtbxlDataset(root, "train", "super", SMALL).file_column == "filename_lr"
    assert PtbxlDataset(root, "train", "super", melp.PreprocessConfig(fs=500.0, seconds=2.0)).file_column == "filename_hr"


def test_sample_reads_signal_and_normalised_report(root):
    sample = PtbxlDataset(root, "train", "super", SMALL)[0]
    assert sample["signal"].shape == (12, 200) and np.isfinite(sample["signal"]).all()
    assert sample["report"] == "sinusrhythmus normales ecg"
    assert sample["labels"].shape == (5,)


def test_unknown_label_set_is_refused(root):
    with pytest.raises(ValueError, match="label set"):
        PtbxlDataset(root, "train", "diagnostic", SMALL)
