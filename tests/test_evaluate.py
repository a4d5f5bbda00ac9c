"""train.evaluate end to end on a tiny synthetic-layout corpus with an untrained demo model."""
from __future__ import annotations

import json

import pytest

from melp.config import MelpConfig
from melp.models.melp import MelpModel
from tests.dataset_fixtures import sine_signal, write_mimic
from train import evaluate

STATEMENTS = ("sinus_rhythm", "atrial_fibrillation", "lbbb")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("eval")
    studies = [{"subject_id": 700 + k, "study_id": 9000 + k,
                "report_lines": ["Sinus rhythm" if k % 2 else "Atrial fibrillation", f"variant {k % 3} noted here"],
                "signal": sine_signal(k), "labels": (k % 2, 1 - k % 2, 0)} for k in range(8)]
    write_mimic(root / "corpus", studies, synth_statements=STATEMENTS)
    model_dir = root / "model"
    MelpModel(MelpConfig.preset("demo")).save_pretrained(model_dir)
    return root


def test_zeroshot_reports_auroc_and_lists_classes_without_positives(setup):
    out = setup / "zs.json"
    results = evaluate.main(["zeroshot", "--dataset", "synth", "--root", str(setup / "corpus"), "--split", "all",
                             "--model", str(setup / "model"), "--bootstrap", "20", "--out", str(out)])
    saved = json.loads(out.read_text())
    assert saved["skipped_classes"] == ["lbbb"] and results["n_records"] == 8
    assert set(saved["per_class_auroc"]) == {"sinus_rhythm", "atrial_fibrillation"}
    assert 0.0 <= saved["macro_auroc"] <= 1.0


def test_retrieval_recall_is_monotone_in_k(setup):
    results = evaluate.main(["retrieval", "--dataset", "synth", "--root", str(setup / "corpus"), "--split", "all",
                             "--model", str(setup / "model")])
    recalls = [results["ecg_to_report"][f"recall@{k}"] for k in (1, 5, 10)]
    assert recalls == sorted(recalls) and recalls[-1] == 1.0  # 6 distinct reports, so every target is in the top 10
    assert results["n_distinct_reports"] == len({(k % 2, k % 3) for k in range(8)})


def test_table_lists_per_class_rows():
    table = evaluate.format_table("zeroshot", {"dataset": "d", "split": "test", "n_records": 3, "macro_auroc": 0.5,
                                               "macro_auroc_ci": None, "per_class_auroc": {"a": 0.5},
                                               "positives": {"a": 1}, "skipped_classes": ["b"]})
    assert "  a " in table and "skipped (no positive or no negative): b" in table


def test_a_folder_of_labelled_records_is_scored_by_its_names_and_as_the_app_reads_them(setup, tmp_path):
    """Each diagnosis is prompted by its own name; the app reads "atrial fibrillation" as the shipped PTB-XL
    statement (its shipped phrasings) and scores the rest by their words, which the output says per name."""
    from tests.dataset_fixtures import sine_signal, write_challenge

    for k in range(10):
        write_challenge(tmp_path, f"R{k:03d}", sine_signal(k), ("164889003",) if k % 2 else ("426783006", "164890007"))
    out = tmp_path / "folder.json"
    evaluate.main(["zeroshot", "--dataset", "records", "--root", str(tmp_path), "--split", "all",
                   "--model", str(setup / "model"), "--bootstrap", "0", "--out", str(out)])
    saved = json.loads(out.read_text())
    in_app = saved["as_the_app_reads"]
    assert in_app["read_as"]["atrial fibrillation"] == "ptbxl-rhythm:AFIB"
    assert set(in_app["per_class_auroc"]) == set(saved["per_class_auroc"]) == {"atrial fibrillation", "sinus rhythm",
                                                                             "atrial flutter"}
    assert 0.0 <= in_app["macro_auroc"] <= 1.0
