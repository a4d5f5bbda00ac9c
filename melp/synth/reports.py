"""MIMIC-IV-ECG machine-style reports: several phrasings per statement, rhythm first, summary last.

Templates may quote measurements: {rate} bpm, {pr} ms, {qrs} ms, {qtc} ms, {response} (slow,
controlled, rapid). A model trained on these reports cannot key on one fixed string per class.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

from melp.synth.conditions import CONDITION_INFO, CONDITIONS, STATEMENTS, SUMMARY_STATEMENTS, SUMMARY_TEXT
from melp.synth.shapes import T_INVERSION_TERRITORIES

SLOW_BPM, RAPID_BPM = 60.0, 100.0
CANONICAL_SUMMARY_WEIGHT = 0.7  # the summary is usually the canonical "Normal/Borderline/Abnormal ECG"
MAX_REPORT_STATEMENTS = 18  # machine_measurements has report_0 .. report_17

PHRASINGS: dict[str, tuple[str, ...]] = {
    "sinus_rhythm": ("Sinus rhythm", "Normal sinus rhythm", "Sinus rhythm, rate {rate}", "NSR, rate {rate}"),
    "sinus_bradycardia": ("Sinus bradycardia", "Sinus bradycardia, rate {rate}", "Marked sinus bradycardia",
                          "Sinus brady"),
    "sinus_tachycardia": ("Sinus tachycardia", "Sinus tachycardia, rate {rate}", "Sinus tach",
                          "Sinus rhythm with rapid rate"),
    "sinus_arrhythmia": ("Sinus arrhythmia", "Sinus rhythm with marked sinus arrhythmia",
                         "Sinus rhythm with respiratory variation", "Sinus arrhythmia, rate {rate}"),
    "atrial_fibrillation": ("Atrial fibrillation", "Atrial fibrillation with {response} ventricular response",
                            "AFib, rate {rate}", "Atrial fibrillation, ventricular rate {rate}"),
    "atrial_flutter": ("Atrial flutter", "Atrial flutter with AV block",
                       "Atrial flutter, ventricular rate {rate}", "Probable atrial flutter"),
    "junctional_rhythm": ("Junctional rhythm", "Junctional escape rhythm", "Probable junctional rhythm",
                          "AV junctional rhythm, rate {rate}"),
    "ventricular_paced_rhythm": ("Ventricular paced rhythm", "Ventricular pacing", "V-paced rhythm",
                                 "Electronic ventricular pacemaker"),
    "pac": ("Premature atrial complexes", "With occasional premature atrial contractions", "PACs",
            "Atrial premature complexes"),
    "pvc": ("Premature ventricular complexes", "With occasional premature ventricular contractions", "PVCs",
            "Ventricular premature complexes"),
    "ventricular_bigeminy": ("Ventricular bigeminy", "With ventricular bigeminy", "PVCs in a bigeminal pattern"),
    "ventricular_trigeminy": ("Ventricular trigeminy", "With ventricular trigeminy",
                              "PVCs in a trigeminal pattern"),
    "first_degree_av_block": ("1st degree AV block", "First degree AV block", "Prolonged PR interval",
                              "First degree A-V block, PR {pr}"),
    "mobitz_1": ("Second degree AV block, Mobitz I", "2nd degree AV block, Wenckebach",
                 "Mobitz type I second degree block", "Wenckebach"),
    "mobitz_2": ("Second degree AV block, Mobitz II", "2nd degree AV block, Mobitz type II",
                 "Mobitz II AV block"),
    "complete_av_block": ("Complete heart block", "Third degree AV block", "Complete AV block",
                          "AV dissociation with complete heart block"),
    "rbbb": ("Right bundle branch block", "RBBB", "Complete right bundle branch block",
             "Right bundle branch block, QRS {qrs}"),
    "incomplete_rbbb": ("Incomplete right bundle branch block", "Incomplete RBBB", "IRBBB",
                        "RSR' in V1 consistent with incomplete right bundle branch block"),
    "lbbb": ("Left bundle branch block", "LBBB", "Complete left bundle branch block",
             "Left bundle branch block, QRS {qrs}"),
    "incomplete_lbbb": ("Incomplete left bundle branch block", "Incomplete LBBB", "ILBBB"),
    "lafb": ("Left anterior fascicular block", "LAFB", "Left anterior hemiblock"),
    "ivcd": ("Nonspecific intraventricular conduction delay", "Intraventricular conduction delay", "IVCD",
             "Nonspecific intraventricular block, QRS {qrs}"),
    "wpw": ("Wolff-Parkinson-White pattern", "WPW", "Ventricular pre-excitation, WPW pattern",
            "Short PR with delta wave, consider WPW"),
    "prolonged_qt": ("Prolonged QT interval", "Long QT", "Prolonged QT, QTc {qtc}", "QT prolongation"),
    "short_pr": ("Short PR interval", "Short PR", "Short PR interval, PR {pr}"),
    "left_axis_deviation": ("Left axis deviation", "LAD", "Leftward axis", "Left axis deviation, axis {axis}"),
    "right_axis_deviation": ("Right axis deviation", "RAD", "Rightward axis", "Right axis deviation, axis {axis}"),
    "lvh": ("Left ventricular hypertrophy", "LVH", "Voltage criteria for left ventricular hypertrophy",
            "Possible left ventricular hypertrophy"),
    "lvh_strain": ("Left ventricular hypertrophy with secondary repolarization abnormality",
                   "LVH with strain", "LVH with repolarization abnormality",
                   "Left ventricular hypertrophy with ST-T changes"),
    "rvh": ("Right ventricular hypertrophy", "RVH", "Possible right ventricular hypertrophy",
            "Consider right ventricular hypertrophy"),
    "left_atrial_enlargement": ("Left atrial enlargement", "Possible left atrial enlargement",
                                "Left atrial abnormality", "Consider left atrial enlargement"),
    "right_atrial_enlargement": ("Right atrial enlargement", "Possible right atrial enlargement",
                                 "Right atrial abnormality", "P pulmonale"),
    "low_qrs_voltage": ("Low QRS voltages", "Low voltage QRS", "Low QRS voltages in limb leads",
                        "Generalized low QRS voltage"),
    "st_depression": ("ST depression", "Diffuse ST depression", "ST depression, consider ischemia",
                      "Nonspecific ST depression"),
    "nonspecific_st_t": ("Nonspecific ST-T changes", "Nonspecific T wave abnormality",
                         "Nonspecific ST and T wave abnormality", "Minor ST-T changes"),
    "early_repolarization": ("Early repolarization", "ST elevation, probable early repolarization",
                             "Early repolarization pattern", "Benign early repolarization"),
    "normal_ecg": ("Normal ECG", "Normal electrocardiogram", "Within normal limits"),
    "borderline_ecg": ("Borderline ECG", "Borderline electrocardiogram", "Borderline abnormal ECG"),
    "abnormal_ecg": ("Abnormal ECG", "Abnormal electrocardiogram", "Abnormal tracing"),
}
_TERRITORY_PHRASES = {
    "inferior": ("Inferior", "II, III, aVF"), "anterior": ("Anterior", "V2-V4"),
    "septal": ("Septal", "V1-V2"), "lateral": ("Lateral", "I, aVL, V5-V6"),
}


def _territorial_phrasings() -> dict[str, tuple[str, ...]]:
    """ST elevation, T inversion and old-infarct phrasings for every territory."""
    phrasings = {}
    for territory, (name, leads) in _TERRITORY_PHRASES.items():
        phrasings[f"st_elevation_{territory}"] = (
            f"{name} ST elevation", f"{name} injury pattern", f"ST elevation in {leads}, consider acute infarct",
            f"{name} ST elevation - probably acute infarct")
        phrasings[f"q_waves_{territory}"] = (
            f"{name} infarct, age undetermined", f"{name} Q waves, old infarct", f"Possible {name.lower()} infarct",
            f"{name} infarct - age undetermined")
        if territory in T_INVERSION_TERRITORIES:
            phrasings[f"t_inversion_{territory}"] = (
                f"{name} T wave inversion", f"T wave inversion in {leads}", f"{name} T wave changes",
                f"{name} T wave abnormality, consider ischemia")
    return phrasings


PHRASINGS.update(_territorial_phrasings())
assert set(PHRASINGS) == set(STATEMENTS), sorted(set(STATEMENTS) ^ set(PHRASINGS))


def statement_text(statement_id: str) -> str:
    """Canonical readable name of a statement ("atrial_fibrillation" -> "atrial fibrillation")."""
    if statement_id in CONDITION_INFO:
        return CONDITION_INFO[statement_id].text
    if statement_id in SUMMARY_TEXT:
        return SUMMARY_TEXT[statement_id]
    raise KeyError(f"unknown statement {statement_id!r}; valid statements are {STATEMENTS}")


def summary_statement(conditions: list[str] | tuple[str, ...]) -> str:
    """normal_ecg / borderline_ecg / abnormal_ecg from the worst condition severity."""
    severities = {CONDITION_INFO[c].severity for c in conditions}
    if "abnormal" in severities:
        return "abnormal_ecg"
    return "borderline_ecg" if "borderline" in severities else "normal_ecg"


def _fill(template: str, measurements: Mapping[str, float]) -> str:
    rate = measurements["heart_rate"]
    response = "slow" if rate < SLOW_BPM else "rapid" if rate > RAPID_BPM else "controlled"
    values = {key: ("" if measurements.get(key) is None else f"{measurements[key]:.0f}")
              for key in ("pr", "qrs", "qtc", "axis")}
    return template.format(rate=f"{rate:.0f}", response=response, **values)


def compose_report(conditions: list[str] | tuple[str, ...], measurements: Mapping[str, float],
                   rng: np.random.Generator) -> tuple[list[str], str]:
    """Report sentences (in CONDITIONS order, rhythm first, summary last) for these conditions.

    ``measurements`` holds heart_rate (bpm) and pr, qrs, qtc (ms) and axis (degrees) where defined;
    a template quoting a measurement that is undefined is not used.
    """
    ordered = [c for c in CONDITIONS if c in conditions] + [summary_statement(conditions)]
    sentences = []
    for statement in ordered:
        options = [t for t in PHRASINGS[statement] if not _quotes_missing(t, measurements)]
        if statement in SUMMARY_STATEMENTS and rng.random() < CANONICAL_SUMMARY_WEIGHT:
            options = options[:1]
        sentences.append(_fill(options[int(rng.integers(0, len(options)))], measurements))
    return sentences[:MAX_REPORT_STATEMENTS], ". ".join(sentences) + "."


def _quotes_missing(template: str, measurements: Mapping[str, float]) -> bool:
    return any(f"{{{key}}}" in template and measurements.get(key) is None for key in ("pr", "qrs", "qtc", "axis"))
