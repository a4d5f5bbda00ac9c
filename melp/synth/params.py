"""Physiological parameters of one simulated heart, drawn per patient before conditions modify them.

Times are seconds, amplitudes millivolts of dipole strength, vectors in Frank coordinates
(X left, Y feet, Z back). Conditions (``conditions.py``) edit these fields coherently.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

AGE_RANGE = (18.0, 90.0)
MAX_AGE = 120.0
NORMAL_RATE_BPM = (61.0, 98.0)
TYPICAL_RATE_BPM = 68.0
NORMAL_AXIS_DEG = (-15.0, 85.0)
NORMAL_AXIS_MEAN_DEG, NORMAL_AXIS_SD_DEG = 45.0, 25.0
NORMAL_PR_S = (0.13, 0.19)
NORMAL_QRS_S = (0.076, 0.096)
NORMAL_QTC_S = {"M": (0.385, 0.435), "F": (0.395, 0.445)}
NORMAL_P_DURATION_S = (0.085, 0.105)
RSA_FRACTION = (0.015, 0.04)  # respiratory modulation of RR, fraction of RR
HRV_FRACTION = (0.008, 0.02)  # beat-to-beat random RR jitter, fraction of RR
RESPIRATION_HZ = (0.18, 0.33)
HABITUS_SD = 0.18  # log-normal spread of overall voltage (body habitus, electrode distance)
FEMALE_VOLTAGE = 0.85
VOLTAGE_DROP_PER_DECADE = 0.04
HEART_ROTATION_SD_DEG = 12.0  # horizontal-plane rotation: precordial transition variability


@dataclass
class HeartParams:
    """Everything the rhythm process and the beat shapes need for one record."""

    age: float
    sex: str
    rhythm: str = "sinus"  # sinus | af | flutter | junctional | paced
    heart_rate: float = 75.0  # ventricular rate for sinus/af/junctional/paced; derived for flutter
    rsa: float = 0.03
    hrv: float = 0.01
    respiration_hz: float = 0.25
    af_cv: float = 0.2  # coefficient of variation of AF RR intervals
    flutter_rate: float = 300.0  # F waves per minute
    flutter_ratio: int = 2
    pr: float = 0.16
    p_duration: float = 0.095
    p_amplitude: float = 0.14
    p_axis_deg: float = 55.0
    lae: bool = False
    rae: bool = False
    qrs: float = 0.09
    r_amplitude: float = 1.25
    axis_deg: float = 45.0
    heart_rotation_deg: float = 0.0
    voltage: float = 1.0  # overall QRS/T scale (habitus, low voltage)
    qtc: float = 0.41
    t_amplitude: float = 0.32
    conduction: str = "normal"  # normal | rbbb | irbbb | lbbb | ilbbb | ivcd | wpw
    lafb: bool = False
    av_block: str = "none"  # none | first | mobitz1 | mobitz2 | complete
    escape_wide: bool = False
    pac_count: int = 0
    pvc_count: int = 0
    pvc_pattern: str = "none"  # none | bigeminy | trigeminy
    lvh: str = "none"  # none | voltage | strain
    rvh: bool = False
    st_vectors: list[np.ndarray] = field(default_factory=list)  # (3,) ST displacement vectors
    t_vectors: list[np.ndarray] = field(default_factory=list)  # (3,) vectors added to the T lobe
    q_vectors: list[np.ndarray] = field(default_factory=list)  # (3,) initial-QRS infarct vectors
    t_scale: float = 1.0  # flattening of T (nonspecific ST-T)
    early_repol: bool = False
    u_wave: bool = True
    rate_fixed: bool = False  # heart rate set explicitly by the caller


def draw_patient(rng: np.random.Generator, age: float | None, sex: str | None) -> HeartParams:
    """Random healthy adult: age/sex-dependent intervals, habitus, orientation, axis, rate."""
    if sex not in (None, "M", "F"):
        raise ValueError(f"sex={sex!r}; expected 'M', 'F' or None (random)")
    if age is not None and not 0 < float(age) < MAX_AGE:
        raise ValueError(f"age={age!r}; expected years in (0, {MAX_AGE}) or None (random)")
    sex = sex if sex is not None else ("M" if rng.random() < 0.5 else "F")
    age = float(age) if age is not None else float(rng.uniform(*AGE_RANGE))
    decades_over_30 = max(age - 30.0, 0.0) / 10.0
    voltage = float(np.exp(rng.normal(0.0, HABITUS_SD)))
    voltage *= (FEMALE_VOLTAGE if sex == "F" else 1.0) * (1.0 - VOLTAGE_DROP_PER_DECADE * decades_over_30)
    axis = float(np.clip(rng.normal(NORMAL_AXIS_MEAN_DEG - 3.0 * decades_over_30, NORMAL_AXIS_SD_DEG),
                         *NORMAL_AXIS_DEG))
    pr_low, pr_high = NORMAL_PR_S
    pr = float(np.clip(rng.uniform(pr_low, pr_high) + 0.003 * decades_over_30, pr_low, 0.195))
    qrs = float(rng.uniform(*NORMAL_QRS_S)) - (0.006 if sex == "F" else 0.0)
    return HeartParams(
        age=age,
        sex=sex,
        heart_rate=float(rng.triangular(NORMAL_RATE_BPM[0], TYPICAL_RATE_BPM, NORMAL_RATE_BPM[1])),
        rsa=float(rng.uniform(*RSA_FRACTION)) / (1.0 + 0.3 * decades_over_30),
        hrv=float(rng.uniform(*HRV_FRACTION)),
        respiration_hz=float(rng.uniform(*RESPIRATION_HZ)),
        pr=pr,
        p_duration=float(rng.uniform(*NORMAL_P_DURATION_S)),
        p_amplitude=float(rng.uniform(0.10, 0.18)),
        p_axis_deg=float(rng.uniform(35.0, 70.0)),
        qrs=qrs,
        r_amplitude=float(rng.uniform(1.0, 1.5)),
        axis_deg=axis,
        heart_rotation_deg=float(rng.normal(0.0, HEART_ROTATION_SD_DEG)),
        voltage=voltage,
        qtc=float(rng.uniform(*NORMAL_QTC_S["F" if sex == "F" else "M"])),
        t_amplitude=float(rng.uniform(0.22, 0.40)),
        u_wave=bool(rng.random() < 0.5),
    )
