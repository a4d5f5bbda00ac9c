"""Calibrated probabilities for the shipped statements: a zero-shot cosine becomes "how likely".

A cosine similarity is not a probability, and a softmax over whatever prompts are on screen changes
when another prompt is typed. For every statement of the shipped prompt sets (``CALIBRATED_SETS``) a
Platt scaling (scikit-learn's logistic regression on the one score) is fitted on records the model
never trained on: PTB-XL fold 9 for the PTB-XL label sets, the synthetic corpus's validation split for
the simulator's statements (``python -m train.calibrate``). Platt scaling is strictly monotone, so a
calibrated AUROC equals the uncalibrated one. The fit is stored beside the checkpoint as
``calibration.json`` (plain numbers, never a pickle) with the model's fingerprint: another model's
weights give other cosines, so a calibration is refused by any model but its own.
"""
from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from melp.atomic import write_text_atomic

logger = logging.getLogger(__name__)

CALIBRATION_FILE = "calibration.json"
FORMAT_VERSION = 1
ECE_BINS = 10
MIN_CLASS_RECORDS = 1  # a statement needs positives and negatives to be fitted
MIN_COEF = 1.0  # weakest slope per unit cosine: keeps the ranking while staying near the base rate


class CalibrationError(ValueError):
    """A calibration that cannot be used with this model; the message says why and how to refit it."""


@dataclass(frozen=True)
class StatementCalibration:
    """Platt scaling of one statement: probability = sigmoid(coef * cosine + intercept)."""

    label_set: str  # a shipped prompt set, e.g. "ptbxl-super" or "synth"
    statement: str  # its label, e.g. "MI" or "atrial_fibrillation"
    coef: float
    intercept: float
    n_positive: int
    n_negative: int

    def probability(self, cosine: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-(self.coef * np.asarray(cosine, dtype=np.float64) + self.intercept)))


@dataclass(frozen=True)
class Calibration:
    """Every statement's calibration, tied to the model (fingerprint) whose cosines it was fitted on."""

    model_fingerprint: str
    statements: tuple[StatementCalibration, ...]
    fitted_on: dict[str, str]  # label set -> where its fit came from

    def for_set(self, label_set: str) -> dict[str, StatementCalibration]:
        return {item.statement: item for item in self.statements if item.label_set == label_set}

    @property
    def label_sets(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(item.label_set for item in self.statements))

    def check_model(self, fingerprint: str) -> None:
        if fingerprint != self.model_fingerprint:
            raise CalibrationError(
                f"the calibration was fitted for model {self.model_fingerprint}, this model is {fingerprint}: its "
                "cosines mean something else. Refit it: python -m train.calibrate --model <this checkpoint> ...")

    def save(self, folder: str | Path) -> Path:
        path = Path(folder) / CALIBRATION_FILE
        payload = {"format_version": FORMAT_VERSION, "model_fingerprint": self.model_fingerprint,
                   "fitted_on": self.fitted_on, "statements": [asdict(item) for item in self.statements]}
        write_text_atomic(path, json.dumps(payload, indent=1) + "\n")
        return path

    @classmethod
    def load(cls, folder: str | Path) -> "Calibration | None":
        """The calibration saved in a checkpoint folder, or None when there is none."""
        path = Path(folder) / CALIBRATION_FILE
        if not path.is_file():
            return None
        try:
            payload = json.loads(path.read_text(encoding="utf-8"))
            if payload.get("format_version") != FORMAT_VERSION:
                raise CalibrationError(f"{path.name}: format {payload.get('format_version')}, expected "
                                       f"{FORMAT_VERSION}; refit with python -m train.calibrate")
            statements = tuple(StatementCalibration(**item) for item in payload["statements"])
            return cls(str(payload["model_fingerprint"]), statements, dict(payload.get("fitted_on", {})))
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise CalibrationError(f"{path.name}: not a readable calibration ({error}); refit it with "
                                   "python -m train.calibrate") from error


def fit_statement(label_set: str, statement: str, cosines: np.ndarray, labels: np.ndarray) -> StatementCalibration | None:
    """Platt scaling of one statement's cosines (N,) against its 0/1 labels (N,); None without both classes.

    The slope is kept at least ``MIN_COEF`` so the probability never reverses or flattens the model's
    ranking (calibrated AUROC = raw AUROC): a statement the fitting records rank backwards, or not at all,
    gets that weak slope and the intercept that matches its base rate, i.e. about the base rate for everyone.
    """
    from scipy.optimize import brentq
    from sklearn.linear_model import LogisticRegression

    labels = np.asarray(labels) > 0
    cosines = np.asarray(cosines, np.float64)
    positives, negatives = int(labels.sum()), int((~labels).sum())
    if positives < MIN_CLASS_RECORDS or negatives < MIN_CLASS_RECORDS:
        return None
    # large C: hardly any penalty, the fit follows the data (scores live on a narrow cosine range)
    regression = LogisticRegression(C=1e4, max_iter=1000).fit(cosines[:, None], labels)
    coef, intercept = float(regression.coef_[0, 0]), float(regression.intercept_[0])
    if coef < MIN_COEF:
        coef, rate = MIN_COEF, positives / (positives + negatives)
        intercept = float(brentq(lambda b: np.mean(1 / (1 + np.exp(-(coef * cosines + b)))) - rate, -50.0, 50.0))
    return StatementCalibration(label_set, statement, coef, intercept, positives, negatives)


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS) -> float:
    """Expected calibration error: the count-weighted mean |observed rate - mean probability| over equal-width
    probability bins (Guo et al. 2017). Written here: scikit-learn's calibration_curve gives the per-bin
    means but not the bin counts this weighting needs."""
    probabilities, labels = np.asarray(probabilities, np.float64).ravel(), np.asarray(labels, np.float64).ravel()
    if probabilities.size == 0:
        return float("nan")
    which = np.minimum((probabilities * bins).astype(int), bins - 1)
    error = 0.0
    for index in range(bins):
        inside = which == index
        if inside.any():
            error += inside.mean() * abs(labels[inside].mean() - probabilities[inside].mean())
    return float(error)
