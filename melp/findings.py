"""``model.findings(records)``: every shipped statement's calibrated probability for every record.

One row per record and statement: record_id, label_set, statement, name (its plain phrasing),
probability (calibrated, ``melp.calibration``) and cosine (the raw zero-shot score it came from).
Records may be ``model.embed``'s result, so findings and zero-shot scores share one encoding.
"""
from __future__ import annotations

import weakref
from typing import Any

import numpy as np
import pandas as pd

from melp.calibration import CalibrationError
from melp.prompt_sets import prompt_set

COLUMNS = ("record_id", "label_set", "statement", "name", "probability", "cosine")
_class_cache: "weakref.WeakKeyDictionary[Any, dict[str, tuple[list[str], np.ndarray]]]" = weakref.WeakKeyDictionary()


def statement_embeddings(model: Any, label_set: str, statements: list[str] | None = None) -> tuple[list[str], np.ndarray]:
    """(statements, (K, E) class embeddings of their shipped phrasings), computed once per model and set."""
    cache = _class_cache.setdefault(model, {})
    if label_set not in cache:
        prompts = prompt_set(label_set)
        names = list(prompts)
        cache[label_set] = (names, model.class_embeddings([prompts[name] for name in names]))
    names, embeddings = cache[label_set]
    if statements is None:
        return names, embeddings
    rows = [names.index(statement) for statement in statements]
    return list(statements), embeddings[rows]


def findings(model: Any, records: Any, label_sets: tuple[str, ...] | None = None) -> pd.DataFrame:
    calibration = getattr(model, "calibration", None)
    if calibration is None:
        raise CalibrationError("this model has no calibration (calibration.json beside its checkpoint); fit one with "
                               "python -m train.calibrate --model <checkpoint> --ptbxl <PTB-XL folder>")
    calibration.check_model(model.provenance.fingerprint)
    embedded = model._embedded(records, 32, "first")
    record_ids = list(embedded.record_ids)
    columns: dict[str, list] = {name: [] for name in COLUMNS}
    for label_set in label_sets or calibration.label_sets:
        fits = calibration.for_set(label_set)
        if not fits:
            raise CalibrationError(f"no calibrated statements for label set {label_set!r}; calibrated sets: "
                                   f"{list(calibration.label_sets)}")
        names, class_embeddings = statement_embeddings(model, label_set, [s for s in prompt_set(label_set) if s in fits])
        cosines = embedded.rhythm @ class_embeddings.T  # (N, K)
        phrasings = prompt_set(label_set)
        for column, statement in enumerate(names):  # statement-major rows: each statement's records together
            columns["record_id"] += record_ids
            columns["label_set"] += [label_set] * len(record_ids)
            columns["statement"] += [statement] * len(record_ids)
            columns["name"] += [phrasings[statement][0]] * len(record_ids)
            columns["probability"] += list(fits[statement].probability(cosines[:, column]))
            columns["cosine"] += list(cosines[:, column])
    # one frame built once: a frame per statement cost more than the model's own work in the app
    frame = pd.DataFrame(columns)
    return frame.astype({"probability": float, "cosine": float}) if len(frame) else frame
