"""CPSC2018 / CSN in the challenge layout: class lists, code equivalences, a disjoint seeded split."""
from __future__ import annotations

import numpy as np
import pytest

import melp
from melp.datasets import ChallengeDataset, open_dataset
from melp.datasets.challenge import challenge_classes, stratified_split
from tests.dataset_fixtures import sine_signal, write_challenge

SMALL = melp.PreprocessConfig(fs=100.0, seconds=2.0)
CODES = [("164889003",), ("59118001",), ("713427006",), ("426783006",), ("164884008", "429622005"),
         ("270492004",), ("999999999",)]  # the last one is in no class list


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cpsc")
    for k in range(40):
        write_challenge(folder / f"g{k % 2}", f"A{k:04d}", sine_signal(k), CODES[k % len(CODES)])
    return folder


def test_class_lists_have_merl_sizes():
    assert len(challenge_classes("cpsc2018")) == 9
    assert len(challenge_classes("csn")) == 38


def test_splits_are_disjoint_and_cover_labelled_records(root):
    splits = {name: ChallengeDataset(root, name, "cpsc2018", SMALL) for name in ("train", "val", "test")}
    ids = {name: {d.record_id(i) for i in range(len(d))} for name, d in splits.items()}
    assert not ids["train"] & ids["val"] and not ids["train"] & ids["test"] and not ids["val"] & ids["test"]
    unlabelled = sum(1 for k in range(40) if k % len(CODES) == len(CODES) - 1)
    assert sum(len(v) for v in ids.values()) == 40 - unlabelled
    assert len(ids["train"]) > len(ids["test"]) > len(ids["val"]) > 0


def test_split_is_reproducible(root):
    first = ChallengeDataset(root, "test", "cpsc2018", SMALL)
    second = ChallengeDataset(root, "test", "cpsc2018", SMALL)
    assert [first.record_id(i) for i in range(len(first))] == [second.record_id(i) for i in range(len(second))]


def test_split_is_stratified_by_rarest_class():
    labels = np.zeros((100, 2), np.float32)
    labels[:90, 0] = 1
    labels[90:, 1] = 1  # 10 records of a rare class
    parts = stratified_split([f"r{k:03d}" for k in range(100)], labels)
    rare_in = {name: int(labels[idx, 1].sum()) for name, idx in parts.items()}
    assert rare_in == {"train": 7, "val": 1, "test": 2}


def test_equivalent_codes_map_to_one_class(root):
    dataset = open_dataset("cpsc2018", root, "train", SMALL)
    matrix = dataset.label_matrix()
    rbbb = dataset.label_names.index("RBBB")
    assert matrix[:, rbbb].sum() > 0
    multi = dataset.label_matrix().sum(axis=1) == 2  # PVC + STD record
    assert multi.any()


def test_sample_reads_mat_signal(root):
    sample = ChallengeDataset(root, "val", "cpsc2018", SMALL)[0]
    assert sample["signal"].shape == (12, 200) and sample["labels"].shape == (9,) and sample["report"] == ""


def test_folder_without_headers_is_explained(tmp_path):
    with pytest.raises(FileNotFoundError, match=".hea"):
        ChallengeDataset(tmp_path, "train", "csn", SMALL)
