"""The statement vocabulary, its clinical rules (exclusions, implications, co-occurrence) and the
default label mix used to draw the conditions of each corpus record."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

from melp.synth.effects import EFFECTS
from melp.synth.shapes import T_INVERSION_TERRITORIES, TERRITORIES


@dataclass(frozen=True)
class Condition:
    """One statement that can be simulated: id, readable name, report section, severity, frequency."""

    id: str
    text: str
    category: str  # rhythm | ectopy | conduction | axis | chamber | ischaemia
    severity: str  # normal | borderline | abnormal (drives the report's summary line)
    frequency: float  # default mix: share among rhythms, or independent probability otherwise




_TABLE: tuple[tuple[str, str, str, str, float], ...] = (
    ("sinus_rhythm", "sinus rhythm", "rhythm", "normal", 0.50),
    ("sinus_bradycardia", "sinus bradycardia", "rhythm", "borderline", 0.12),
    ("sinus_tachycardia", "sinus tachycardia", "rhythm", "borderline", 0.10),
    ("sinus_arrhythmia", "sinus arrhythmia", "rhythm", "normal", 0.05),
    ("atrial_fibrillation", "atrial fibrillation", "rhythm", "abnormal", 0.11),
    ("atrial_flutter", "atrial flutter", "rhythm", "abnormal", 0.04),
    ("junctional_rhythm", "junctional rhythm", "rhythm", "abnormal", 0.03),
    ("ventricular_paced_rhythm", "ventricular paced rhythm", "rhythm", "abnormal", 0.05),
    ("pac", "premature atrial complexes", "ectopy", "borderline", 0.06),
    ("pvc", "premature ventricular complexes", "ectopy", "borderline", 0.07),
    ("ventricular_bigeminy", "ventricular bigeminy", "ectopy", "abnormal", 0.02),
    ("ventricular_trigeminy", "ventricular trigeminy", "ectopy", "abnormal", 0.02),
    ("first_degree_av_block", "first degree AV block", "conduction", "borderline", 0.07),
    ("mobitz_1", "second degree AV block, Mobitz I (Wenckebach)", "conduction", "abnormal", 0.025),
    ("mobitz_2", "second degree AV block, Mobitz II", "conduction", "abnormal", 0.022),
    ("complete_av_block", "complete AV block", "conduction", "abnormal", 0.022),
    ("rbbb", "right bundle branch block", "conduction", "abnormal", 0.06),
    ("incomplete_rbbb", "incomplete right bundle branch block", "conduction", "borderline", 0.05),
    ("lbbb", "left bundle branch block", "conduction", "abnormal", 0.04),
    ("incomplete_lbbb", "incomplete left bundle branch block", "conduction", "abnormal", 0.025),
    ("lafb", "left anterior fascicular block", "conduction", "abnormal", 0.05),
    ("ivcd", "nonspecific intraventricular conduction delay", "conduction", "abnormal", 0.03),
    ("wpw", "Wolff-Parkinson-White pre-excitation", "conduction", "abnormal", 0.025),
    ("prolonged_qt", "prolonged QT interval", "conduction", "abnormal", 0.06),
    ("short_pr", "short PR interval", "conduction", "borderline", 0.03),
    ("left_axis_deviation", "left axis deviation", "axis", "borderline", 0.07),
    ("right_axis_deviation", "right axis deviation", "axis", "abnormal", 0.04),
    ("lvh", "left ventricular hypertrophy", "chamber", "abnormal", 0.06),
    ("lvh_strain", "left ventricular hypertrophy with repolarization abnormality", "chamber", "abnormal", 0.04),
    ("rvh", "right ventricular hypertrophy", "chamber", "abnormal", 0.025),
    ("left_atrial_enlargement", "left atrial enlargement", "chamber", "borderline", 0.06),
    ("right_atrial_enlargement", "right atrial enlargement", "chamber", "borderline", 0.03),
    ("low_qrs_voltage", "low QRS voltage", "chamber", "borderline", 0.04),
    *((f"st_elevation_{t}", f"{t} ST elevation", "ischaemia", "abnormal", 0.025) for t in TERRITORIES),
    ("st_depression", "ST depression", "ischaemia", "abnormal", 0.05),
    *((f"t_inversion_{t}", f"{t} T-wave inversion", "ischaemia", "abnormal", 0.035) for t in T_INVERSION_TERRITORIES),
    *((f"q_waves_{t}", f"{t} Q waves, old infarct", "ischaemia", "abnormal", 0.03) for t in TERRITORIES),
    ("nonspecific_st_t", "nonspecific ST-T changes", "ischaemia", "borderline", 0.08),
    ("early_repolarization", "early repolarization", "ischaemia", "borderline", 0.03),
)

CONDITIONS: tuple[str, ...] = tuple(row[0] for row in _TABLE)
CONDITION_INFO: dict[str, Condition] = {row[0]: Condition(*row) for row in _TABLE}
SUMMARY_STATEMENTS: tuple[str, ...] = ("normal_ecg", "borderline_ecg", "abnormal_ecg")
SUMMARY_TEXT = {"normal_ecg": "normal ECG", "borderline_ecg": "borderline ECG", "abnormal_ecg": "abnormal ECG"}
STATEMENTS: tuple[str, ...] = CONDITIONS + SUMMARY_STATEMENTS
assert set(EFFECTS) == set(CONDITIONS), "every condition needs an effect in effects.py"

RHYTHMS = tuple(c for c in CONDITIONS if CONDITION_INFO[c].category == "rhythm")
SINUS_RHYTHMS = frozenset({"sinus_rhythm", "sinus_bradycardia", "sinus_tachycardia", "sinus_arrhythmia"})
DEFAULT_RHYTHM = "sinus_rhythm"
_BBB = ("rbbb", "incomplete_rbbb", "lbbb", "incomplete_lbbb", "ivcd", "wpw")
_AV = ("first_degree_av_block", "mobitz_1", "mobitz_2", "complete_av_block")
_STE = tuple(f"st_elevation_{t}" for t in TERRITORIES)
_TWI = tuple(f"t_inversion_{t}" for t in T_INVERSION_TERRITORIES)
_QW = tuple(f"q_waves_{t}" for t in TERRITORIES)
_REPOL = _STE + _TWI + ("st_depression", "nonspecific_st_t", "early_repolarization")

# At most one member of each group.
EXCLUSIVE_GROUPS: tuple[tuple[str, ...], ...] = (
    RHYTHMS, _BBB, _AV, ("left_axis_deviation", "right_axis_deviation", "lafb"),
    ("lvh", "lvh_strain", "low_qrs_voltage", "rvh"), ("ventricular_bigeminy", "ventricular_trigeminy"),
    ("st_depression", "nonspecific_st_t", "early_repolarization"),
)
# Conditions that need a sinus (P-wave driven) rhythm.
NEEDS_SINUS = frozenset(_AV + ("pac", "short_pr", "wpw", "left_atrial_enlargement", "right_atrial_enlargement"))
_FORBIDDEN: set[frozenset[str]] = set()


def _forbid(group_a: tuple[str, ...], group_b: tuple[str, ...]) -> None:
    _FORBIDDEN.update(frozenset((a, b)) for a in group_a for b in group_b if a != b)


_forbid(("lbbb", "incomplete_lbbb", "ventricular_paced_rhythm"),
        ("lafb", "lvh", "lvh_strain", "rvh") + _QW + _REPOL + ("prolonged_qt",))
_forbid(("ventricular_paced_rhythm",), _BBB + ("left_axis_deviation", "right_axis_deviation"))
_forbid(("wpw",), ("short_pr", "lafb", "lvh", "lvh_strain", "rvh") + _QW + _REPOL)
_forbid(("rbbb", "incomplete_rbbb"), ("rvh",))
_forbid(("ivcd",), ("lafb",))
_forbid(("lvh_strain",), _REPOL)
_forbid(("early_repolarization", "st_depression", "nonspecific_st_t"), _STE)
_forbid(("nonspecific_st_t",), _TWI)
_forbid(("st_elevation_inferior",), ("st_elevation_anterior", "st_elevation_septal", "t_inversion_inferior"))
_forbid(("st_elevation_anterior", "st_elevation_septal"), ("t_inversion_anterior",))
_forbid(("st_elevation_lateral",), ("t_inversion_lateral",))
_forbid(("rvh",), ("left_axis_deviation", "lafb"))
_forbid(("mobitz_1", "mobitz_2", "complete_av_block"), ("pac", "pvc", "ventricular_bigeminy", "ventricular_trigeminy"))
_forbid(("first_degree_av_block",), ("short_pr",))
_forbid(("sinus_tachycardia",), ("complete_av_block", "mobitz_1"))
_forbid(("sinus_bradycardia",), ("ventricular_bigeminy",))

IMPLIES: dict[str, tuple[str, ...]] = {
    "ventricular_bigeminy": ("pvc",),
    "ventricular_trigeminy": ("pvc",),
    "rvh": ("right_axis_deviation",),
}
# Clinical co-occurrence: when the first is present, the second is this many times more likely.
AFFINITY: tuple[tuple[str, str, float], ...] = (
    ("lvh", "left_atrial_enlargement", 3.0), ("lvh_strain", "left_atrial_enlargement", 3.0),
    ("lvh", "left_axis_deviation", 2.0), ("lvh_strain", "left_axis_deviation", 2.0),
    ("atrial_fibrillation", "rbbb", 2.0), ("atrial_fibrillation", "pvc", 2.0),
    ("rvh", "right_atrial_enlargement", 4.0), ("mobitz_2", "rbbb", 3.0), ("rbbb", "lafb", 3.0),
    ("q_waves_inferior", "left_axis_deviation", 2.0), ("st_elevation_inferior", "q_waves_inferior", 3.0),
    ("st_elevation_anterior", "q_waves_anterior", 3.0), ("st_elevation_anterior", "st_elevation_septal", 4.0),
    ("sinus_tachycardia", "nonspecific_st_t", 1.5), ("q_waves_anterior", "q_waves_septal", 3.0),
)


def conflicts(chosen: list[str] | tuple[str, ...]) -> list[str]:
    """Human-readable reasons why a set of conditions cannot occur together (empty when fine)."""
    reasons = []
    for group in EXCLUSIVE_GROUPS:
        present = [c for c in chosen if c in group]
        if len(present) > 1:
            reasons.append(f"{' and '.join(present)} exclude each other")
    reasons += [f"{a} and {b} cannot occur together" for i, a in enumerate(chosen) for b in chosen[i + 1:]
                if frozenset((a, b)) in _FORBIDDEN]
    rhythm = next((c for c in chosen if c in RHYTHMS), DEFAULT_RHYTHM)
    reasons += [f"{c} needs a sinus rhythm, not {rhythm}" for c in chosen if c in NEEDS_SINUS
                and rhythm not in SINUS_RHYTHMS]
    return reasons


def complete(chosen: list[str]) -> list[str]:
    """Add the default rhythm when none is given and implied statements; order as in CONDITIONS."""
    result = set(chosen)
    if not result & set(RHYTHMS):
        result.add(DEFAULT_RHYTHM)
    for condition in list(result):
        result.update(IMPLIES.get(condition, ()))
    return [c for c in CONDITIONS if c in result]


def default_mix() -> dict[str, float]:
    """The default label mix: {condition: frequency}."""
    return {c: CONDITION_INFO[c].frequency for c in CONDITIONS}


def draw_conditions(rng: np.random.Generator, mix: Mapping[str, float] | None = None) -> list[str]:
    """Draw a clinically coherent condition set: one rhythm, then others in random order,
    skipping any that would conflict with what is already chosen."""
    unknown = sorted(set(mix or {}) - set(CONDITIONS))
    if unknown:
        raise ValueError(f"label mix names unknown conditions {unknown}; valid conditions are {list(CONDITIONS)}")
    frequencies = default_mix() if mix is None else {**default_mix(), **mix}
    rhythm_weights = np.array([frequencies[r] for r in RHYTHMS])
    chosen = [RHYTHMS[int(rng.choice(len(RHYTHMS), p=rhythm_weights / rhythm_weights.sum()))]]
    others = [c for c in CONDITIONS if c not in RHYTHMS]
    draws = rng.random(len(others))
    order = rng.permutation(len(others))
    for k in order:
        candidate = others[k]
        boost = np.prod([factor for a, b, factor in AFFINITY if b == candidate and a in chosen] or [1.0])
        if draws[k] < frequencies[candidate] * boost:
            trial = complete(chosen + [candidate])
            if not conflicts(trial):
                chosen = trial
    return complete(chosen)
