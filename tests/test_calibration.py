"""Calibrated findings: the Platt fit and its round trip, refusal by another model, travelling with saves,
the expected calibration error, and the percentile stability measurement."""
from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from melp.calibration import (CALIBRATION_FILE, MIN_COEF, Calibration, CalibrationError, StatementCalibration,
                              expected_calibration_error, fit_statement)
from melp.checkpoint import save_pretrained
from melp.findings import COLUMNS
from melp.prompt_sets import prompt_set
from tests.tiny_melp import spiky_record, tiny_model
from train.calibrate import fit, measure, percentile_stability


def _logistic_sample(n: int, coef: float, intercept: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    cosines = rng.uniform(-0.3, 0.5, n)
    labels = rng.random(n) < 1 / (1 + np.exp(-(coef * cosines + intercept)))
    return cosines, labels


def test_platt_fit_recovers_a_known_logistic_and_keeps_the_ranking():
    cosines, labels = _logistic_sample(20000, coef=12.0, intercept=-2.0, seed=0)
    fitted = fit_statement("synth", "x", cosines, labels)
    assert fitted.coef == pytest.approx(12.0, rel=0.1) and fitted.intercept == pytest.approx(-2.0, abs=0.2)
    probabilities = fitted.probability(cosines)
    assert roc_auc_score(labels, probabilities) == pytest.approx(roc_auc_score(labels, cosines), abs=1e-12)
    assert expected_calibration_error(probabilities, labels) < 0.02


def test_a_statement_ranked_backwards_gets_about_its_base_rate_without_reversing_the_ranking():
    cosines, labels = _logistic_sample(5000, coef=-8.0, intercept=0.0, seed=1)
    weak = fit_statement("synth", "x", cosines, labels)
    probabilities = weak.probability(cosines)
    assert weak.coef == MIN_COEF and probabilities.mean() == pytest.approx(labels.mean(), abs=1e-6)
    assert np.ptp(probabilities) < 0.25  # about the base rate for everyone
    assert roc_auc_score(labels, probabilities) == pytest.approx(roc_auc_score(labels, cosines), abs=1e-12)
    assert fit_statement("synth", "x", cosines, np.zeros_like(labels)) is None


def test_expected_calibration_error_of_known_bins():
    # half the records at 0.2 with observed rate 0.2, half at 0.8 with observed rate 0.5: ECE = 0.5 * 0.3
    probabilities = np.r_[np.full(10, 0.2), np.full(10, 0.8)]
    labels = np.r_[np.ones(2), np.zeros(8), np.ones(5), np.zeros(5)]
    assert expected_calibration_error(probabilities, labels) == pytest.approx(0.15)


def test_fit_measure_and_save_load_round_trip(tmp_path):
    model = tiny_model()
    sets = {}
    for label_set, seed in (("ptbxl-super", 2), ("synth", 3)):
        statements = list(prompt_set(label_set))[:3]
        columns = [_logistic_sample(3000, 10.0, -1.0, seed + k) for k in range(len(statements))]
        sets[label_set] = (statements, np.stack([c for c, _ in columns], 1), np.stack([y for _, y in columns], 1))
    calibration = fit(model, sets, {"ptbxl-super": "test data", "synth": "test data"})
    assert calibration.label_sets == ("ptbxl-super", "synth") and len(calibration.statements) == 6
    results = measure(calibration, sets)
    for entry in results.values():
        assert entry["macro_auroc_calibrated"] == pytest.approx(entry["macro_auroc_raw"], abs=1e-12)
        assert entry["ece"] < 0.05 and 0 < entry["brier"] < 0.25
    calibration.save(tmp_path)
    assert Calibration.load(tmp_path) == calibration
    assert "pickle" not in (tmp_path / CALIBRATION_FILE).read_text()


def test_unreadable_or_other_version_calibration_files_are_refused_with_the_fix(tmp_path):
    (tmp_path / CALIBRATION_FILE).write_text("{ not json")
    with pytest.raises(CalibrationError, match="train.calibrate"):
        Calibration.load(tmp_path)
    (tmp_path / CALIBRATION_FILE).write_text(json.dumps({"format_version": 99, "statements": []}))
    with pytest.raises(CalibrationError, match="format 99"):
        Calibration.load(tmp_path)
    assert Calibration.load(tmp_path / "nothing-here") is None


def _calibration_for(model, fingerprint: str) -> Calibration:
    statements = list(prompt_set("ptbxl-rhythm"))[:2]
    return Calibration(fingerprint, tuple(StatementCalibration("ptbxl-rhythm", s, 5.0, -1.0, 10, 90)
                                          for s in statements), {"ptbxl-rhythm": "test"})


def test_findings_use_the_models_own_calibration_and_refuse_another_models():
    model = tiny_model(seed=0)
    records = [spiky_record(0), spiky_record(1)]
    with pytest.raises(CalibrationError, match="no calibration"):
        model.findings(records)
    model.calibration = _calibration_for(model, model.provenance.fingerprint)
    table = model.findings(records)
    assert tuple(table.columns) == COLUMNS and len(table) == 2 * 2
    assert table["probability"].between(0, 1).all()
    assert np.allclose(table["probability"], 1 / (1 + np.exp(-(5.0 * table["cosine"] - 1.0))))
    other = tiny_model(seed=1)
    other.calibration = model.calibration  # fitted on the first model's cosines
    with pytest.raises(CalibrationError, match="Refit it"):
        other.findings(records)


def test_a_saved_model_keeps_its_own_calibration_but_retrained_weights_drop_it(tmp_path):
    import torch

    model = tiny_model(seed=0)
    model.calibration = _calibration_for(model, model.provenance.fingerprint)
    save_pretrained(model, tmp_path / "same")
    assert Calibration.load(tmp_path / "same") == model.calibration
    with torch.no_grad():
        next(model.parameters()).add_(0.01)  # training changed the weights after the fit
    save_pretrained(model, tmp_path / "same")
    assert not (tmp_path / "same" / CALIBRATION_FILE).exists()


class _TextModel:
    def __init__(self, texts: np.ndarray) -> None:
        self.texts = texts

    def class_embeddings(self, prompts):
        return self.texts[: len(prompts)]


def test_percentile_stability_is_small_for_a_large_library_and_reports_its_spread():
    rng = np.random.default_rng(0)
    unit = lambda rows: rows / np.linalg.norm(rows, axis=1, keepdims=True)  # noqa: E731
    reference, records, texts = unit(rng.standard_normal((20000, 8))), unit(rng.standard_normal((50, 8))), \
        unit(rng.standard_normal((3, 8)))
    result = percentile_stability(_TextModel(texts), reference, records, prompts=("a", "b", "c"))
    assert result["n_records"] == 50 and result["n_library"] == 20000
    assert result["mean_points"] < 1.0 and result["max_points"] < 3.0
    small = percentile_stability(_TextModel(texts), reference[:40], records, prompts=("a", "b", "c"))
    assert small["mean_points"] > result["mean_points"]  # fewer references, coarser and noisier percentiles
