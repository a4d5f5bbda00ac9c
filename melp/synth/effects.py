"""What each condition does to the heart: one small function per statement, editing ``HeartParams``.

Each function draws its own parameters from the record's generator, so a condition always sets
rate, intervals, axis and morphology coherently (e.g. LAFB sets the axis, RBBB widens the QRS).
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from melp.synth.params import HeartParams
from melp.synth.shapes import R_CANONICAL, T_INVERSION_TERRITORIES, TERRITORIES, territory_vector, unit

Effect = Callable[[HeartParams, np.random.Generator], None]

AF_RESPONSE_BPM = {"slow": (44.0, 57.0), "normal": (64.0, 98.0), "rapid": (105.0, 150.0)}
AF_RESPONSE_WEIGHTS = (0.15, 0.5, 0.35)
FLUTTER_RATIOS = (2, 3, 4)
FLUTTER_RATE_PER_MIN = (260.0, 340.0)
FLUTTER_RATIO_WEIGHTS = (0.55, 0.1, 0.35)
ST_ELEVATION_MV = (0.22, 0.4)
T_INVERSION_MV = (0.45, 0.7)
INFARCT_Q_MV = (0.3, 0.45)


def _rate(low: float, high: float) -> Effect:
    def effect(p: HeartParams, rng: np.random.Generator) -> None:
        if not p.rate_fixed:
            p.heart_rate = float(rng.uniform(low, high))
    return effect


def sinus_arrhythmia(p: HeartParams, rng: np.random.Generator) -> None:
    p.rsa = float(rng.uniform(0.12, 0.2))
    p.respiration_hz = float(rng.uniform(0.15, 0.25))
    if not p.rate_fixed:
        p.heart_rate = float(rng.uniform(55.0, 90.0))


def atrial_fibrillation(p: HeartParams, rng: np.random.Generator) -> None:
    p.rhythm = "af"
    p.af_cv = float(rng.uniform(0.16, 0.28))
    response = list(AF_RESPONSE_BPM)[int(rng.choice(3, p=AF_RESPONSE_WEIGHTS))]
    if not p.rate_fixed:
        p.heart_rate = float(rng.uniform(*AF_RESPONSE_BPM[response]))


def atrial_flutter(p: HeartParams, rng: np.random.Generator) -> None:
    """F waves at 260-340 /min conducted 2:1 to 4:1; a fixed heart rate picks the nearest ratio."""
    p.rhythm = "flutter"
    p.flutter_rate = float(rng.uniform(*FLUTTER_RATE_PER_MIN))
    p.flutter_ratio = int(rng.choice(FLUTTER_RATIOS, p=FLUTTER_RATIO_WEIGHTS))
    if p.rate_fixed:
        p.flutter_ratio = int(np.clip(round(np.mean(FLUTTER_RATE_PER_MIN) / p.heart_rate), 2, 4))
        p.flutter_rate = float(np.clip(p.heart_rate * p.flutter_ratio, *FLUTTER_RATE_PER_MIN))
    p.heart_rate = p.flutter_rate / p.flutter_ratio


def junctional_rhythm(p: HeartParams, rng: np.random.Generator) -> None:
    p.rhythm = "junctional"
    if not p.rate_fixed:
        p.heart_rate = float(rng.uniform(42.0, 60.0))


def ventricular_paced(p: HeartParams, rng: np.random.Generator) -> None:
    p.rhythm = "paced"
    if not p.rate_fixed:
        p.heart_rate = float(rng.choice([60.0, 70.0, 72.0, 80.0]))


def pac(p: HeartParams, rng: np.random.Generator) -> None:
    p.pac_count = int(rng.integers(1, 4))


def pvc(p: HeartParams, rng: np.random.Generator) -> None:
    p.pvc_count = max(p.pvc_count, int(rng.integers(1, 4)))


def _pvc_pattern(pattern: str) -> Effect:
    def effect(p: HeartParams, rng: np.random.Generator) -> None:
        p.pvc_pattern = pattern
    return effect


def first_degree(p: HeartParams, rng: np.random.Generator) -> None:
    p.av_block = "first"
    p.pr = float(rng.uniform(0.22, 0.32))


def mobitz1(p: HeartParams, rng: np.random.Generator) -> None:
    p.av_block = "mobitz1"
    p.pr = float(rng.uniform(0.17, 0.22))


def mobitz2(p: HeartParams, rng: np.random.Generator) -> None:
    p.av_block = "mobitz2"


def complete_block(p: HeartParams, rng: np.random.Generator) -> None:
    p.av_block = "complete"
    p.escape_wide = bool(rng.random() < 0.4)


def _conduction(pattern: str, qrs_range: tuple[float, float]) -> Effect:
    def effect(p: HeartParams, rng: np.random.Generator) -> None:
        p.conduction = pattern
        p.qrs = float(rng.uniform(*qrs_range))
    return effect


def lafb(p: HeartParams, rng: np.random.Generator) -> None:
    p.lafb = True
    p.axis_deg = float(rng.uniform(-80.0, -50.0))
    p.qrs = max(p.qrs, float(rng.uniform(0.095, 0.11)))


def wpw(p: HeartParams, rng: np.random.Generator) -> None:
    p.conduction = "wpw"
    p.pr = float(rng.uniform(0.085, 0.11))
    p.qrs = float(rng.uniform(0.12, 0.14))


def prolonged_qt(p: HeartParams, rng: np.random.Generator) -> None:
    p.qtc = float(rng.uniform(0.49, 0.56))


def short_pr(p: HeartParams, rng: np.random.Generator) -> None:
    p.pr = float(rng.uniform(0.09, 0.112))


def _axis(low: float, high: float) -> Effect:
    def effect(p: HeartParams, rng: np.random.Generator) -> None:
        p.axis_deg = float(rng.uniform(low, high))
    return effect


def lvh(p: HeartParams, rng: np.random.Generator) -> None:
    p.lvh = "voltage"
    p.voltage = max(p.voltage, 1.0) * float(rng.uniform(1.0, 1.2))
    p.qrs = max(p.qrs, float(rng.uniform(0.095, 0.11)))


def lvh_strain(p: HeartParams, rng: np.random.Generator) -> None:
    lvh(p, rng)
    p.lvh = "strain"


def rvh(p: HeartParams, rng: np.random.Generator) -> None:
    p.rvh = True
    p.axis_deg = float(rng.uniform(110.0, 150.0))


def left_atrial(p: HeartParams, rng: np.random.Generator) -> None:
    p.lae = True
    p.p_duration = float(rng.uniform(0.12, 0.14))


def right_atrial(p: HeartParams, rng: np.random.Generator) -> None:
    p.rae = True


def low_voltage(p: HeartParams, rng: np.random.Generator) -> None:
    p.voltage = float(rng.uniform(0.25, 0.35))


def _st_elevation(territory: str) -> Effect:
    def effect(p: HeartParams, rng: np.random.Generator) -> None:
        p.st_vectors.append(float(rng.uniform(*ST_ELEVATION_MV)) * territory_vector(territory))
        p.t_vectors.append(0.25 * territory_vector(territory))  # hyperacute T
    return effect


def _t_inversion(territory: str) -> Effect:
    def effect(p: HeartParams, rng: np.random.Generator) -> None:
        p.t_vectors.append(-float(rng.uniform(*T_INVERSION_MV)) * territory_vector(territory))
    return effect


def _q_waves(territory: str) -> Effect:
    def effect(p: HeartParams, rng: np.random.Generator) -> None:
        p.q_vectors.append(-float(rng.uniform(*INFARCT_Q_MV)) * territory_vector(territory))
    return effect


def st_depression(p: HeartParams, rng: np.random.Generator) -> None:
    p.st_vectors.append(float(rng.uniform(0.12, 0.22)) * unit([-0.7, -0.45, 0.55]))


def nonspecific_st_t(p: HeartParams, rng: np.random.Generator) -> None:
    p.t_scale = float(rng.uniform(0.15, 0.4))
    p.st_vectors.append(0.04 * unit([-0.7, -0.45, 0.55]))


def early_repolarization(p: HeartParams, rng: np.random.Generator) -> None:
    p.early_repol = True
    p.st_vectors.append(float(rng.uniform(0.08, 0.14)) * unit(R_CANONICAL + np.array([0.0, 0.0, -0.8])))


def no_change(p: HeartParams, rng: np.random.Generator) -> None:
    """Sinus rhythm keeps the patient's own rate and intervals."""


EFFECTS: dict[str, Effect] = {
    "sinus_rhythm": no_change,
    "sinus_bradycardia": _rate(40.0, 56.0),
    "sinus_tachycardia": _rate(104.0, 150.0),
    "sinus_arrhythmia": sinus_arrhythmia,
    "atrial_fibrillation": atrial_fibrillation,
    "atrial_flutter": atrial_flutter,
    "junctional_rhythm": junctional_rhythm,
    "ventricular_paced_rhythm": ventricular_paced,
    "pac": pac,
    "pvc": pvc,
    "ventricular_bigeminy": _pvc_pattern("bigeminy"),
    "ventricular_trigeminy": _pvc_pattern("trigeminy"),
    "first_degree_av_block": first_degree,
    "mobitz_1": mobitz1,
    "mobitz_2": mobitz2,
    "complete_av_block": complete_block,
    "rbbb": _conduction("rbbb", (0.13, 0.155)),
    "incomplete_rbbb": _conduction("irbbb", (0.1, 0.115)),
    "lbbb": _conduction("lbbb", (0.14, 0.17)),
    "incomplete_lbbb": _conduction("ilbbb", (0.108, 0.118)),
    "lafb": lafb,
    "ivcd": _conduction("ivcd", (0.115, 0.135)),
    "wpw": wpw,
    "prolonged_qt": prolonged_qt,
    "short_pr": short_pr,
    "left_axis_deviation": _axis(-60.0, -35.0),
    "right_axis_deviation": _axis(100.0, 150.0),
    "lvh": lvh,
    "lvh_strain": lvh_strain,
    "rvh": rvh,
    "left_atrial_enlargement": left_atrial,
    "right_atrial_enlargement": right_atrial,
    "low_qrs_voltage": low_voltage,
    **{f"st_elevation_{t}": _st_elevation(t) for t in TERRITORIES},
    "st_depression": st_depression,
    **{f"t_inversion_{t}": _t_inversion(t) for t in T_INVERSION_TERRITORIES},
    **{f"q_waves_{t}": _q_waves(t) for t in TERRITORIES},
    "nonspecific_st_t": nonspecific_st_t,
    "early_repolarization": early_repolarization,
}
