"""Report metrics (library BLEU/METEOR/ROUGE-L, statement F1, infarction claims) and the PTB-XL fold-10 suite."""
from __future__ import annotations

import json

import numpy as np
import pytest

from tests.dataset_fixtures import write_ptbxl
from tests.test_datasets_ptbxl import LABEL_SPLITS, RECORDS
from tests.tiny_melp import tiny_model
from train import evaluate
from train.eval_reports import StatementMatcher, infarction_claims, statement_f1, text_metrics

PHRASES = {"SR": "sinus rhythm", "IRBBB": "incomplete right bundle branch block",
           "CRBBB": "complete right bundle branch block", "RBBB": "right bundle branch block",
           "IMI": "inferior myocardial infarction", "NORM": "normal ecg"}


def test_matcher_takes_the_longest_phrase_and_ignores_case_and_hedges():
    matcher = StatementMatcher(PHRASES)
    assert matcher.find("Sinus rhythm. Incomplete right bundle branch block.") == {"SR", "IRBBB"}
    assert matcher.find("sinus rhythm. probable inferior myocardial infarction.") == {"SR", "IMI"}
    assert matcher.find("atrial fibrillation") == set()


def test_identical_reports_score_perfectly_and_unrelated_ones_poorly():
    refs = ["sinus rhythm. normal ecg.", "sinus rhythm. complete right bundle branch block."]
    perfect = text_metrics(refs, refs)
    assert perfect["bleu4"] == pytest.approx(1.0) and perfect["rouge_l"] == pytest.approx(1.0)
    assert perfect["meteor"] > 0.95
    unrelated = text_metrics(["atrial fibrillation with rapid response", "left axis deviation"], refs)
    assert unrelated["rouge_l"] < 0.2 and unrelated["bleu4"] < 0.1


def test_statement_f1_counts_record_statement_pairs():
    matcher = StatementMatcher(PHRASES)
    scores = statement_f1(["sinus rhythm. normal ecg.", "sinus rhythm."],
                          ["sinus rhythm. normal ecg.", "sinus rhythm. inferior myocardial infarction."], matcher)
    assert scores["statement_f1_micro"] == pytest.approx(2 * 3 / (3 + 4))


def test_infarction_claims_are_counted_only_among_records_without_mi():
    claims = infarction_claims(["old inferior infarct.", "normal ecg.", "anterior infarction."],
                               np.array([False, False, True]))
    assert claims["infarction_claimed_without_mi"] == pytest.approx(0.5) and claims["n_without_mi"] == 2
    assert claims["infarction_claimed_with_mi"] == pytest.approx(1.0)


@pytest.mark.slow
def test_ptbxl_suite_reports_every_measure_on_fold_10(tmp_path):
    (tmp_path / "ptbxl").mkdir()
    root = write_ptbxl(tmp_path / "ptbxl", RECORDS, LABEL_SPLITS)
    model_dir = tiny_model(heartbeat_pooling=True).save_pretrained(tmp_path / "model")
    out = tmp_path / "fold10.json"
    evaluate.main(["ptbxl", "--root", str(root), "--model", str(model_dir), "--bootstrap", "0",
                   "--probe-sets", "", "--out", str(out)])
    saved = json.loads(out.read_text())
    assert saved["n_records"] == 3  # fold 10: records 4, 5 and 7
    assert set(saved["zeroshot"]) == {"super", "sub", "form", "rhythm"}
    assert saved["zeroshot"]["super"]["plain_names_used"]["CD"] == "conduction disturbance"
    # typed into the app, the plain name is read as the statement and answered from its shipped phrasings
    assert saved["zeroshot"]["super"]["plain_names_in_the_app"]["CD"] == "ptbxl-super:CD"
    assert set(saved["reports"]) >= {"bleu4", "meteor", "rouge_l", "statement_f1_micro", "infarction_claimed_without_mi"}
    assert 0.0 <= saved["retrieval"]["ecg_to_text"]["recall@1"] <= 1.0
    # hubness-corrected against the training folds' ECGs (melp.hubness), beside the paper's plain cosine
    assert 0.0 <= saved["retrieval"]["ecg_to_text_hubness_corrected"]["recall@1"] <= 1.0
    assert saved["retrieval"]["hubness_bank"].startswith("folds 1-8")


def test_ptbxl_probes_report_the_spread_over_label_samples_below_100_percent():
    from melp.datasets.ptbxl import LABEL_SETS
    from train import eval_ptbxl

    rng = np.random.default_rng(0)
    names = tuple(f"super:{label}" for label in LABEL_SETS["super"])
    labels = {split: (rng.random((n, len(names))) < 0.3).astype(np.float32) for split, n in
              (("train", 1000), ("val", 200), ("test", 200))}
    features = {split: np.concatenate([2 * y, rng.standard_normal((len(y), 8))], axis=1) + rng.normal(0, 1, (len(y), 13))
                for split, y in labels.items()}
    result = eval_ptbxl.probes(features, labels, names, ("super",), seed=0)["super"]
    for fraction in ("0.01", "0.1"):
        spread = result[fraction]["sample_seeds"]
        assert spread["seeds"] == list(range(eval_ptbxl.SAMPLE_SEEDS))
        assert spread["macro_auroc"][0] == result[fraction]["macro_auroc"]  # the first sample is the headline's
        assert len(set(spread["macro_auroc"])) > 1 and spread["sd"] > 0  # other samples, other figures
    assert "sample_seeds" not in result["1"]  # 100 % has one sample
    assert result["1"]["macro_auroc"] > 0.8


@pytest.mark.slow
def test_both_probe_commands_take_the_one_probe_path_and_agree(tmp_path):
    """``python -m train.probe`` and ``python -m train.evaluate probe`` encode the splits and fit the probe
    through ``train.probe.probe_datasets``: on the same data and model they report the same figures."""
    from train import probe

    (tmp_path / "ptbxl").mkdir()
    root = write_ptbxl(tmp_path / "ptbxl", RECORDS, LABEL_SPLITS)
    model_dir = tiny_model().save_pretrained(tmp_path / "model")
    common = ["--dataset", "ptbxl-super", "--root", str(root), "--model", str(model_dir)]
    alone = probe.main([*common, "--out", str(tmp_path / "probe.json")])
    via_evaluate = evaluate.main(["probe", *common, "--out", str(tmp_path / "evaluate.json")])
    assert alone["n_train"] == via_evaluate["n_train"] > 0
    assert alone["C"] == via_evaluate["C"]  # the fixture's three validation records leave the AUROCs undefined (NaN)
    for key in ("val_macro_auroc", "macro_auroc"):
        assert alone[key] == pytest.approx(via_evaluate[key], nan_ok=True)
    assert json.loads((tmp_path / "evaluate.json").read_text())["task"] == "probe"
