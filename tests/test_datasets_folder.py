"""A folder of labelled headers as a zero-shot test set: classes with enough positives, prompts by name."""
import numpy as np
import pytest

import melp
from melp.datasets.registry import open_dataset
from tests.dataset_fixtures import sine_signal, write_challenge

SINUS, AF, RBBB = "426783006", "164889003", "59118001"


@pytest.fixture()
def labelled_folder(tmp_path):
    codes = [(SINUS,)] * 5 + [(AF,)] * 5 + [(AF, RBBB)] * 2  # RBBB has only 2 positives
    for i, dx in enumerate(codes):
        write_challenge(tmp_path / ("a" if i % 2 else "b"), f"R{i:03d}", sine_signal(i), dx)
    return tmp_path


def test_only_diagnoses_with_enough_positives_become_classes(labelled_folder):
    dataset = open_dataset("records", labelled_folder, "all", melp.PreprocessConfig())
    assert len(dataset) == 12
    assert dataset.label_names == ("atrial fibrillation", "sinus rhythm")
    labels = dataset.label_matrix()
    assert labels.sum(axis=0).tolist() == [7.0, 5.0]
    assert np.all(labels.sum(axis=1) == 1)


def test_each_class_is_prompted_by_its_own_name(labelled_folder):
    dataset = open_dataset("records", labelled_folder, "all", melp.PreprocessConfig())
    assert dataset.prompts == {"atrial fibrillation": ["atrial fibrillation"], "sinus rhythm": ["sinus rhythm"]}


def test_samples_are_preprocessed_like_every_other_dataset(labelled_folder):
    config = melp.PreprocessConfig(fs=100.0)
    sample = open_dataset("records", labelled_folder, "all", config)[0]
    assert sample["signal"].shape == (12, 1000) and sample["lead_mask"].all()


def test_folder_without_headers_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no .hea headers"):
        open_dataset("records", tmp_path, "all")


def test_folder_is_for_evaluation_only(labelled_folder):
    with pytest.raises(ValueError, match="split 'train' is unknown"):
        open_dataset("records", labelled_folder, "train")
