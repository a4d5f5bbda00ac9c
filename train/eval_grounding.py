"""Heartbeat grounding: does the sentence that names an ectopic beat point at that heartbeat?

Simulated records (``melp.synth.simulate(conditions, seed)``, seeds ``seed`` .. ``seed + n - 1``: the
corpora draw their records with ``simulate_record``, a different seed stream, so these are never trained
on) are explained with a short report through the public ``model.explain``; the detected heartbeats take
their kind from the simulator's beat table. For each case:
- pointing game: the share of records whose most similar heartbeat (to the sentence naming the event)
  is one of the event's heartbeats; chance is the mean share of such heartbeats;
- per-record AUROC of event vs other heartbeats by that similarity, averaged over records;
- spread (max - min similarity over a record's heartbeats) of the event sentence, of the rhythm sentence
  on the same records, and of the event sentence on records without the event (specificity).
Real records (``real``): records whose labels name ventricular premature beats; the top heartbeat for
"premature ventricular complexes." should have a QRS of at least 120 ms (neurokit2 delineation).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score
from tqdm.auto import tqdm

import melp
from melp.data.heartbeats import label_heartbeats, type_code
from melp.grounding import sentence_heartbeat_kind
from melp.synth.simulate import simulate

logger = logging.getLogger(__name__)

RHYTHM_SENTENCE = "sinus rhythm."
WIDE_QRS_MS = 120.0


@dataclass(frozen=True)
class Case:
    """Conditions to simulate, the sentence naming the event, and which heartbeats are the event's."""

    conditions: tuple[str, ...]
    sentence: str
    event: str  # "pvc" / "pac": heartbeats of that kind; "after_block": the first heartbeat after a blocked P


CASES = {
    "pvc": Case(("pvc",), "premature ventricular complexes.", "pvc"),
    "pac": Case(("pac",), "premature atrial complexes.", "pac"),
    "mobitz_1": Case(("mobitz_1",), "second degree av block, mobitz i.", "after_block"),
    "mobitz_2": Case(("mobitz_2",), "second degree av block, mobitz ii.", "after_block"),
}


def _event_heartbeats(heartbeats: np.ndarray, ecg: Any, event: str) -> np.ndarray:
    """(K,) bool: which detected heartbeats (record samples) are the case's event."""
    table = ecg.beat_table
    if event != "after_block":
        codes = label_heartbeats(heartbeats, ecg.record.fs, table["sample"], tuple(table["type"]), ecg.record.fs)
        return codes == type_code(event)
    blocked = table["sample"][table["type"] == "nonconducted_p"]
    is_event = np.zeros(heartbeats.size, bool)
    for sample in blocked:
        later = np.flatnonzero(heartbeats > sample)
        if later.size:
            is_event[later[0]] = True
    return is_event


def _spread(similarity: np.ndarray) -> float:
    return float(similarity.max() - similarity.min()) if similarity.size else float("nan")


def simulated_case(model: Any, case: Case, n: int, seed: int) -> dict[str, Any]:
    """Pointing game, AUROC and spreads for ``n`` simulated records of one case (and ``n`` without it)."""
    pointed, aurocs, chance, event_spread, rhythm_spread, rhythm_pointed = [], [], [], [], [], []
    text = f"{RHYTHM_SENTENCE} {case.sentence}"
    for offset in tqdm(range(n), desc=f"grounding {'+'.join(case.conditions)}"):
        ecg = simulate(list(case.conditions), seed + offset)
        explanation = model.explain(ecg.record, text=text)
        is_event = _event_heartbeats(explanation.heartbeats, ecg, case.event)
        if not is_event.any() or is_event.all():
            continue
        rhythm_row, event_row = explanation.sentence_heartbeat_similarity[:2]
        pointed.append(bool(is_event[int(np.argmax(event_row))]))
        rhythm_pointed.append(bool(is_event[int(np.argmax(rhythm_row))]))
        aurocs.append(roc_auc_score(is_event, event_row))
        chance.append(float(is_event.mean()))
        event_spread.append(_spread(event_row))
        rhythm_spread.append(_spread(rhythm_row))
    absent_spread = []
    for offset in range(n):
        explanation = model.explain(simulate(["sinus_rhythm"], seed + offset).record, text=text)
        absent_spread.append(_spread(explanation.sentence_heartbeat_similarity[1]))
    return {
        "sentence": case.sentence, "n_records": len(pointed),
        "pointing_game": float(np.mean(pointed)) if pointed else float("nan"),
        "chance": float(np.mean(chance)) if chance else float("nan"),
        "mean_record_auroc": float(np.mean(aurocs)) if aurocs else float("nan"),
        "rhythm_sentence_points_at_event": float(np.mean(rhythm_pointed)) if rhythm_pointed else float("nan"),
        "spread_event_sentence": float(np.mean(event_spread)) if event_spread else float("nan"),
        "spread_rhythm_sentence": float(np.mean(rhythm_spread)) if rhythm_spread else float("nan"),
        "spread_event_sentence_without_event": float(np.nanmean(absent_spread)),
    }


def _qrs_ms_at(record: melp.EcgRecord, sample: int) -> float | None:
    """QRS duration (ms) of the beat nearest ``sample`` in the record's first window, by neurokit2 (dwt)."""
    info = melp.beats(record, delineate="dwt")
    if info.delineation is None or info.n_beats == 0:
        return None
    nearest = int(np.argmin(np.abs(info.r_peaks - sample)))
    onset, offset = info.delineation.get("R_Onsets"), info.delineation.get("R_Offsets")
    if onset is None or offset is None or nearest >= len(onset) or np.isnan(onset[nearest]) or np.isnan(offset[nearest]):
        return None
    return float((offset[nearest] - onset[nearest]) / record.fs * 1000.0)


def real_pvc_records(model: Any, root: Path, seconds: float) -> dict[str, Any]:
    """Top heartbeat for the PVC sentence on real records labelled with ventricular premature beats."""
    headers = sorted(Path(root).rglob("*.hea"))
    widths, record_ids = [], []
    for header in tqdm(headers, desc="grounding real records"):
        record = melp.read_ecg(header)
        if not any(sentence_heartbeat_kind(label) == "pvc" for label in record.labels):
            continue
        explanation = model.explain(record, text=f"{RHYTHM_SENTENCE} {CASES['pvc'].sentence}")
        if explanation.heartbeats.size == 0:
            continue
        top = int(explanation.heartbeats[int(np.argmax(explanation.sentence_heartbeat_similarity[1]))])
        window = melp.EcgRecord(signal=record.signal[:, :int(seconds * record.fs)], fs=record.fs,
                                leads=record.leads, lead_mask=record.lead_mask, record_id=record.record_id)
        width = _qrs_ms_at(window, top)
        if width is not None:
            widths.append(width)
            record_ids.append(record.record_id)
    wide = [w >= WIDE_QRS_MS for w in widths]
    return {"n_records": len(widths), "top_heartbeat_qrs_ms": dict(zip(record_ids, widths)),
            "share_wide_qrs": float(np.mean(wide)) if wide else float("nan")}


def run_grounding(model: Any, n: int, seed: int, real: str | None) -> dict[str, Any]:
    results: dict[str, Any] = {"seeds": [seed, seed + n - 1], "heartbeat_method": None}
    for name, case in CASES.items():
        results[name] = simulated_case(model, case, n, seed)
    results["heartbeat_method"] = model.explain(simulate(["pvc"], seed).record, text=RHYTHM_SENTENCE).heartbeat_method
    if real:
        results["real_pvc"] = real_pvc_records(model, Path(real), model.preprocess_config.seconds)
    results["headline"] = {f"{name} pointing game (chance)": f"{results[name]['pointing_game']:.3f} "
                           f"({results[name]['chance']:.3f}), AUROC {results[name]['mean_record_auroc']:.3f}"
                           for name in CASES}
    return results
