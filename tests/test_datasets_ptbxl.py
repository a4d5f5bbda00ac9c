"""PTB-XL: fold splits, label sets from scp_statements or the MERL label splits, English text for every
record, records100/500 by model rate."""
from __future__ import annotations

import numpy as np
import pytest

import melp
from melp.datasets import PtbxlDataset
from melp.datasets.ptbxl import ALL_LABELS, LABEL_SETS, PtbxlReportsDataset
from melp.datasets.ptbxl_text import compose_from_codes, compose_from_labels, is_english
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
    assert sample["report"] == "sinus rhythm. normal ecg."  # composed in English, never the German original
    assert sample["labels"].shape == (5,)


def test_unknown_label_set_is_refused(root):
    with pytest.raises(ValueError, match="label set"):
        PtbxlDataset(root, "train", "diagnostic", SMALL)


LABEL_SPLITS = [  # records 1-5 as above, plus 6 and 7 known only through the label splits
    {"ecg_id": 1, "patient_id": 11, "strat_fold": 1, "super": ["NORM"], "sub": ["NORM"], "rhythm": ["SR"]},
    {"ecg_id": 2, "patient_id": 12, "strat_fold": 3, "super": ["MI"], "sub": ["IMI"], "form": ["PVC"], "rhythm": ["AFIB"]},
    {"ecg_id": 3, "patient_id": 13, "strat_fold": 9, "super": ["HYP", "STTC"], "sub": ["LVH", "STTC"],
     "form": ["NDT"], "rhythm": ["SR"]},
    {"ecg_id": 4, "patient_id": 14, "strat_fold": 10, "super": ["CD"], "sub": ["CLBBB"], "rhythm": ["SR"]},
    {"ecg_id": 5, "patient_id": 15, "strat_fold": 10, "form": ["PVC"]},
    {"ecg_id": 6, "patient_id": 16, "strat_fold": 2, "super": ["MI"], "sub": ["AMI"], "form": ["PVC"], "rhythm": ["SR"]},
    {"ecg_id": 7, "patient_id": 17, "strat_fold": 10, "super": ["NORM"], "sub": ["NORM"], "rhythm": ["SBRAD"]},
]
ENGLISH_REPORTS = {1: "sinus rhythm. normal ecg.", 2: "sinusrhythmus lagetyp normal", 3: "trace only requested."}


@pytest.fixture(scope="module")
def split_root(tmp_path_factory):
    records = [{**record, "report": ENGLISH_REPORTS.get(record["ecg_id"], record["report"])} for record in RECORDS]
    return write_ptbxl(tmp_path_factory.mktemp("ptbxl-splits"), records, LABEL_SPLITS)


def test_label_splits_give_every_record_including_those_missing_from_the_table(split_root):
    assert _ids(PtbxlDataset(split_root, "train", "super", SMALL)) == ["ptbxl-1", "ptbxl-2", "ptbxl-6"]
    assert _ids(PtbxlDataset(split_root, "test", "super", SMALL)) == ["ptbxl-4", "ptbxl-7"]
    sub = PtbxlDataset(split_root, "train", "sub", SMALL)
    assert sub.labels(2)[sub.label_names.index("AMI")] == 1


def test_records_known_only_by_labels_get_english_text_from_them(split_root):
    dataset = PtbxlReportsDataset(split_root, "train", SMALL)
    assert dataset.report(_ids(dataset).index("ptbxl-6")) == (
        "sinus rhythm. anterior myocardial infarction. ventricular premature complex.")


def test_pretraining_view_has_every_record_english_alternatives_and_all_label_sets(split_root):
    dataset = PtbxlReportsDataset(split_root, "train", SMALL)
    assert _ids(dataset) == ["ptbxl-1", "ptbxl-2", "ptbxl-6"]
    assert dataset.label_names == ALL_LABELS and dataset.label_matrix().shape == (3, 59)
    assert dataset.alt_report(0) == "sinus rhythm. normal ecg."  # English original kept as alternative text
    assert dataset.alt_report(1) == ""  # German original never used
    assert dataset.report(1) == "atrial fibrillation. probable inferior myocardial infarction. ventricular premature complex."
    item = dataset[0]
    assert item["heartbeats"].shape == (40,) and item["alt_report"] == "sinus rhythm. normal ecg."


def test_composed_text_follows_report_order_and_hedges_likelihood():
    phrases = {"SR": ("rhythm", "sinus rhythm"), "IMI": ("MI", "inferior myocardial infarction"),
               "CLBBB": ("CD", "complete left bundle branch block"), "NORM": ("NORM", "normal ecg"),
               "PVC": ("form", "ventricular premature complex")}
    text = compose_from_codes({"PVC": 0.0, "IMI": 15.0, "CLBBB": 100.0, "SR": 0.0}, phrases)
    assert text == ("sinus rhythm. complete left bundle branch block. possible inferior myocardial infarction. "
                    "ventricular premature complex.")
    assert compose_from_codes({"NORM": 100.0, "SR": 0.0}, phrases) == "sinus rhythm. normal ecg."
    assert compose_from_labels(["SR"], ["PVC"], ["IMI"], phrases) == (
        "sinus rhythm. inferior myocardial infarction. ventricular premature complex.")


@pytest.mark.parametrize("report, english", [
    ("sinus rhythm. left axis deviation. otherwise normal ecg.", True),
    ("sinusrhythmus lagetyp normal normales ekg", False),
    ("sinusrytm vÄnster el-axel", False),
    ("vorhofflimmern ventrikulaere extrasystolen", False),
    ("trace only requested.", False),
    ("", False),
])
def test_only_english_reports_count_as_english(report, english):
    assert is_english(report) is english
