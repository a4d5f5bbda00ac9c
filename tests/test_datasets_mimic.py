"""MIMIC-IV-ECG layout (and the synthetic corpus through the same path): reports, dropping, splits."""
from __future__ import annotations

import numpy as np
import pytest

import melp
from melp.datasets import MimicDataset, RecordRejected, open_dataset
from melp.datasets.mimic import subject_split
from melp.datasets.text import count_report_tokens, join_report_lines, normalise_report
from tests.dataset_fixtures import sine_signal, write_mimic

SMALL = melp.PreprocessConfig(fs=100.0, seconds=2.0)
STATEMENTS = ("sinus_rhythm", "atrial_fibrillation")
LONG_REPORT = ["Sinus rhythm", "Normal EKG.", "No previous ECGs available"]


def _studies(n_subjects: int = 12, per_subject: int = 2) -> list[dict]:
    studies = []
    for subject in range(n_subjects):
        for visit in range(per_subject):
            study_id = 40000000 + subject * 10 + visit
            studies.append({"subject_id": 10000000 + subject, "study_id": study_id, "report_lines": LONG_REPORT,
                            "signal": sine_signal(study_id), "labels": (visit % 2, 1 - visit % 2)})
    return studies


def test_report_normalisation_lowercases_and_maps_ekg():
    assert normalise_report("Sinus  rhythm.. Abnormal EKG ***") == "sinus rhythm. abnormal ecg"


def test_report_lines_join_skips_nan_and_empty_cells():
    assert join_report_lines(["Sinus rhythm", float("nan"), "", "Normal ECG"]) == "sinus rhythm. normal ecg"


def test_decimal_points_survive_normalisation():
    assert "0.12" in normalise_report("PR 0.12 s.Left axis deviation")


def test_token_count_ignores_punctuation():
    assert count_report_tokens("sinus rhythm. normal ecg.") == 4


def test_subject_split_keeps_all_studies_of_a_subject_together(tmp_path):
    write_mimic(tmp_path, _studies())
    train = MimicDataset(tmp_path, "train", SMALL, val_fraction=0.3)
    val = MimicDataset(tmp_path, "val", SMALL, val_fraction=0.3)
    train_subjects = {train.subject_id(i) for i in range(len(train))}
    val_subjects = {val.subject_id(i) for i in range(len(val))}
    assert train_subjects.isdisjoint(val_subjects)
    assert len(train) + len(val) == 24 and len(val) > 0 and len(train) > 0


def test_subject_split_is_stable_across_calls():
    assert [subject_split(s, 0.2, 0.1) for s in range(50)] == [subject_split(s, 0.2, 0.1) for s in range(50)]


def test_short_reports_are_dropped(tmp_path):
    studies = _studies(n_subjects=3, per_subject=1)
    studies[0]["report_lines"] = ["Normal ECG"]  # 2 tokens
    write_mimic(tmp_path, studies)
    dataset = MimicDataset(tmp_path, "all", SMALL)
    assert len(dataset) == 2
    assert str(studies[0]["study_id"]) not in {dataset.record_id(i) for i in range(len(dataset))}


def test_unusable_signal_is_rejected_and_a_short_gap_repaired_when_read(tmp_path):
    studies = _studies(n_subjects=3, per_subject=1)
    studies[1]["signal"][:, :] = np.nan  # nothing finite: dropped
    studies[2]["signal"][3, 50:60] = np.nan  # a 0.1 s gap in one lead: interpolated by the reader
    write_mimic(tmp_path, studies)
    dataset = MimicDataset(tmp_path, "all", SMALL)
    dataset[0]
    with pytest.raises(RecordRejected):
        dataset[1]
    assert np.isfinite(dataset[2]["signal"]).all() and dataset[2]["lead_mask"].all()


def test_sample_has_contract_shapes_and_normalised_report(tmp_path):
    write_mimic(tmp_path, _studies(n_subjects=1, per_subject=1))
    sample = MimicDataset(tmp_path, "all", SMALL)[0]
    assert sample["signal"].shape == (12, 200) and sample["signal"].dtype == np.float32
    assert sample["lead_mask"].shape == (12,) and sample["lead_mask"].dtype == bool
    assert sample["report"] == "sinus rhythm. normal ecg. no previous ecgs available"
    assert sample["labels"].shape == (0,)


def test_synth_corpus_reads_statement_labels(tmp_path):
    studies = _studies(n_subjects=2, per_subject=2)
    write_mimic(tmp_path, studies, synth_statements=STATEMENTS)
    dataset = open_dataset("synth", tmp_path, "all", SMALL)
    assert dataset.label_names == STATEMENTS
    by_id = {dataset.record_id(i): dataset[i]["labels"] for i in range(len(dataset))}
    for study in studies:
        np.testing.assert_array_equal(by_id[str(study["study_id"])], np.array(study["labels"], np.float32))


def test_synth_without_labels_file_names_the_file(tmp_path):
    write_mimic(tmp_path, _studies(n_subjects=1, per_subject=1))
    with pytest.raises(FileNotFoundError, match="synth_labels.csv"):
        open_dataset("synth", tmp_path, "all", SMALL)
