"""Beat shapes: the lobes of one P wave or one ventricular complex, built from ``HeartParams``.

Vectors are in Frank coordinates (X left, Y feet, Z back). Ventricular shapes are built in a
canonical orientation, rotated by the patient's heart orientation, then steered so the QRS axis
measured from leads I and aVF equals the intended axis.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from melp.synth import leadfield
from melp.synth.params import HeartParams
from melp.synth.vcg import GAUSS_POWER, PLATEAU_POWER, Lobes, concat, make_lobes, net_qrs_area

G, P4 = GAUSS_POWER, PLATEAU_POWER
SEPTAL = np.array([-0.5, 0.2, -0.85])
# The QRS loop: early forces inferior-anterior, main forces left-posterior, terminal right-posterior.
R_EARLY = np.array([0.45, 0.85, -0.25])
R_LATE = np.array([0.85, 0.2, 0.5])
R_CANONICAL = np.array([0.75, 0.6, 0.3])  # overall direction of the main QRS forces
S_CANONICAL = np.array([-0.45, -0.35, 0.85])
T_CANONICAL = np.array([0.75, 0.55, -0.15])
T_SIGMA_RIGHT = 0.035
T_PEAK_SIGMAS = 2.3  # T end = T peak + this many right sigmas
REFERENCE_QT = 0.40
PACED_AXIS_DEG = -70.0
PVC_AMPLITUDE_MV = (2.0, 3.0)
U_AFTER_T_S, U_SIGMA_S, U_FRACTION = 0.07, 0.03, 0.08  # U wave: offset from QT, width, size vs T
J_NOTCH_MV = 0.14  # early-repolarisation J notch
WPW_TAIL_S = 0.085  # normal activation after the pre-excited part of a WPW QRS
TERRITORIES = {
    "inferior": np.array([-0.2, 1.0, 0.0]),
    "anterior": np.array([0.2, -0.35, -1.0]),
    "septal": np.array([-0.45, 0.0, -1.0]),
    "lateral": np.array([1.0, -0.5, 0.3]),
}
T_INVERSION_TERRITORIES = ("inferior", "anterior", "lateral")


def unit(vector: np.ndarray) -> np.ndarray:
    return np.asarray(vector, dtype=np.float64) / np.linalg.norm(vector)


@dataclass(frozen=True)
class BeatShape:
    """Lobes of one complex plus the fiducial facts the beat table and intervals need."""

    lobes: Lobes
    qrs: float  # s, QRS onset to end
    r_offset: float  # s from QRS onset to the main peak


def _rotate_horizontal(vectors: np.ndarray, degrees: float) -> np.ndarray:
    """Rotate (L, 3) vectors about the vertical (Y) axis: counter-clockwise seen from the feet."""
    angle = np.radians(degrees)
    rotation = np.array([[np.cos(angle), 0.0, np.sin(angle)], [0.0, 1.0, 0.0],
                         [-np.sin(angle), 0.0, np.cos(angle)]])
    return vectors @ rotation.T


def _t_rows(p: HeartParams, t_vectors: list[np.ndarray]) -> list:
    """T lobes (peak placed by each beat's QT) for each vector."""
    sigma_left = 0.05 * p.qtc / REFERENCE_QT
    peak = -T_PEAK_SIGMAS * T_SIGMA_RIGHT
    return [(peak, 1.0, sigma_left, T_SIGMA_RIGHT, G, t_vector, False) for t_vector in t_vectors]


def _st_rows(st_vectors: list[np.ndarray], qrs: float) -> list:
    """Flat-topped ST lobes from the J point to the T peak (centre follows half the beat's QT)."""
    peak = -T_PEAK_SIGMAS * T_SIGMA_RIGHT
    st_half = max((REFERENCE_QT + peak - qrs) / 2.0, 0.04)
    return [((qrs + peak) / 2.0, 0.5, st_half / 1.05, st_half / 1.05, P4, st, False) for st in st_vectors]


def _repolarisation(p: HeartParams, t_vector: np.ndarray, st_vectors: list[np.ndarray], qrs: float) -> list:
    """T, optional U, and ST lobes of the heart's own (rotated, axis-steered) repolarisation."""
    rows = _t_rows(p, [t_vector]) + _st_rows(st_vectors, qrs)
    if p.u_wave:
        rows.append((U_AFTER_T_S, 1.0, U_SIGMA_S, U_SIGMA_S, G, U_FRACTION * unit(t_vector) * p.voltage, False))
    return rows


# Depolarisation lobes per conduction pattern. Rows are (offset, qt_coeff, sigma_left, sigma_right,
# power, vector, is_qrs); offsets and widths are mostly fractions of the QRS duration d.
def _septal_rows(p: HeartParams, d: float) -> list:
    if p.lafb:  # initial forces inferior-rightward: small r in II/III/aVF, q in aVL
        return [(0.15 * d, 0.0, 0.07 * d, 0.07 * d, G, 0.15 * unit([-0.3, 0.8, -0.4]), True)]
    return [(0.13 * d, 0.0, 0.065 * d, 0.065 * d, G, 0.2 * SEPTAL, True)]


def _normal_rows(p: HeartParams, d: float, r_amp: float) -> tuple[list, float]:
    rows = [
        (0.38 * d, 0.0, 0.11 * d, 0.11 * d, G, 0.7 * r_amp * unit(R_EARLY), True),
        (0.53 * d, 0.0, 0.1 * d, 0.1 * d, G, 0.85 * r_amp * unit(R_LATE), True),
        (0.77 * d, 0.0, 0.09 * d, 0.09 * d, G, 0.6 * r_amp * unit(S_CANONICAL), True),
    ]
    return _septal_rows(p, d) + rows, 0.47 * d


def _rbbb_rows(p: HeartParams, d: float, r_amp: float) -> tuple[list, float]:
    """Normal early LV activation, then a slow terminal rightward-anterior lobe (R' in V1, wide S in I/V6)."""
    terminal_sigma = 0.2 * (d - 0.07)
    amp = 0.8 if p.conduction == "rbbb" else 0.45
    rows = [
        (0.04, 0.0, 0.011, 0.011, G, r_amp * unit(R_CANONICAL), True),
        (0.065, 0.0, 0.009, 0.009, G, 0.3 * unit(S_CANONICAL), True),
        (d - 2.4 * terminal_sigma, 0.0, terminal_sigma, terminal_sigma, G, amp * unit([-0.7, 0.1, -0.9]), True),
    ]
    return _septal_rows(p, d) + rows, 0.04


def _lbbb_rows(p: HeartParams, d: float, r_amp: float) -> tuple[list, float]:
    """No septal q; broad left-posterior forces (QS in V1-V3), notched for complete LBBB."""
    rows = [(0.38 * d, 0.0, 0.15 * d, 0.13 * d, G, 1.15 * r_amp * unit([0.8, 0.2, 0.9]), True)]
    if p.conduction == "lbbb":
        rows.append((0.68 * d, 0.0, 0.1 * d, 0.11 * d, G, 0.9 * r_amp * unit([0.9, -0.1, 0.6]), True))
    return rows, 0.38 * d


def _wpw_rows(p: HeartParams, d: float, r_amp: float) -> tuple[list, float]:
    """A slurred delta wave, then normal activation of the last WPW_TAIL_S seconds of the QRS."""
    shift, tail = d - WPW_TAIL_S, WPW_TAIL_S
    rows = [
        (0.035, 0.0, 0.022, 0.012, G, 0.45 * r_amp * unit(R_CANONICAL), True),
        (shift + 0.45 * tail, 0.0, 0.13 * tail, 0.12 * tail, G, r_amp * unit(R_CANONICAL), True),
        (shift + 0.75 * tail, 0.0, 0.1 * tail, 0.1 * tail, G, 0.35 * unit(S_CANONICAL), True),
    ]
    return rows, shift + 0.45 * tail


_CONDUCTION_ROWS = {"normal": _normal_rows, "ivcd": _normal_rows, "rbbb": _rbbb_rows, "irbbb": _rbbb_rows,
                    "lbbb": _lbbb_rows, "ilbbb": _lbbb_rows, "wpw": _wpw_rows}


def _conduction_rows(p: HeartParams, r_amp: float) -> tuple[list, float, float]:
    """Depolarisation lobes for the conduction pattern; returns (rows, qrs duration, R offset)."""
    if p.conduction not in _CONDUCTION_ROWS:
        raise ValueError(f"unknown conduction pattern {p.conduction!r}; expected one of {sorted(_CONDUCTION_ROWS)}")
    rows, r_offset = _CONDUCTION_ROWS[p.conduction](p, p.qrs, r_amp)
    return rows, p.qrs, r_offset


def _t_vector(p: HeartParams, r_amp: float) -> np.ndarray:
    """Canonical T vector: concordant normally, discordant for bundle branch blocks and strain."""
    if p.conduction in ("lbbb", "ilbbb"):
        return p.t_amplitude * 1.3 * unit([-0.7, -0.2, -0.6])
    if p.lvh == "strain":
        return 0.35 * unit(-R_CANONICAL) * r_amp / 2.0
    t_vector = p.t_amplitude * unit(T_CANONICAL)
    if p.conduction in ("rbbb", "irbbb"):
        t_vector = t_vector + 0.22 * unit([0.4, 0.0, 0.6])
    if p.conduction == "wpw":
        t_vector = t_vector - 0.15 * unit(R_CANONICAL)
    return t_vector * p.t_scale


def ventricular_shape(p: HeartParams) -> BeatShape:
    """The conducted (supraventricular) complex for this heart: QRS, ST, T and U lobes."""
    r_amp = p.r_amplitude * (2.0 if p.lvh != "none" else 1.0)
    depol_rows, qrs, r_offset = _conduction_rows(p, r_amp)
    if p.rvh:
        depol_rows.append((0.62 * qrs, 0.0, 0.12 * qrs, 0.12 * qrs, G, 1.0 * unit([-0.5, 0.4, -1.0]), True))
    st_canonical = []
    if p.conduction in ("lbbb", "ilbbb"):
        st_canonical.append(0.12 * unit([-0.6, -0.2, -0.7]))
    if p.lvh == "strain":
        st_canonical.append(0.09 * unit(-R_CANONICAL))
    t_vector = _t_vector(p, r_amp)
    if p.rvh:
        t_vector = t_vector + 0.25 * unit([0.3, 0.0, 0.6])
    canonical = make_lobes(depol_rows + _repolarisation(p, t_vector, st_canonical, qrs))
    vectors = _rotate_horizontal(canonical.vectors, p.heart_rotation_deg) * p.voltage
    current_axis = leadfield.frontal_axis_degrees(net_qrs_area(canonical.with_vectors(vectors)))
    oriented = canonical.with_vectors(leadfield.steer_frontal_axis(vectors, current_axis, p.axis_deg))
    return BeatShape(concat([oriented, _territorial_lobes(p, qrs)]), qrs, r_offset)


def _territorial_lobes(p: HeartParams, qrs: float) -> Lobes:
    """Territory-fixed lobes (infarct Q waves, ST shifts, T changes, J notch), not rotated with the heart."""
    rows = [(0.022, 0.0, 0.009, 0.009, G, q_vector * p.voltage, True) for q_vector in p.q_vectors]
    rows += _repolarisation_extras(p, qrs)
    return make_lobes(rows)


def _repolarisation_extras(p: HeartParams, qrs: float) -> list:
    rows = _t_rows(p, p.t_vectors) + _st_rows(p.st_vectors, qrs)
    if p.early_repol:
        rows.append((qrs + 0.004, 0.0, 0.008, 0.01, G, J_NOTCH_MV * unit([0.7, 0.6, -0.2]), False))
    return rows


def pvc_shape(p: HeartParams, rng: np.random.Generator) -> BeatShape:
    """A unifocal premature ventricular complex: wide, bizarre, discordant T."""
    qrs = float(rng.uniform(0.14, 0.18))
    main = unit(rng.normal(size=3) + np.array([0.0, 0.0, -0.3]))
    late = unit(-main + 0.6 * rng.normal(size=3))
    amp = float(rng.uniform(*PVC_AMPLITUDE_MV)) * p.voltage
    rows = [
        (0.4 * qrs, 0.0, 0.17 * qrs, 0.14 * qrs, G, amp * main, True),
        (0.78 * qrs, 0.0, 0.08 * qrs, 0.08 * qrs, G, 0.35 * amp * late, True),
        (-T_PEAK_SIGMAS * T_SIGMA_RIGHT - 0.01, 1.0, 0.07, 0.045, G, -0.3 * amp * main, False),
    ]
    return BeatShape(make_lobes(rows), qrs, 0.4 * qrs)


def paced_shape(p: HeartParams, fs: float) -> BeatShape:
    """Right-ventricular apical pacing: a spike, then a wide LBBB-like complex with a superior axis."""
    qrs = 0.16
    spike_sigma = 0.45 / fs  # one-sample-wide spike at any sampling rate
    spike_offset = -0.012
    paced = HeartParams(age=p.age, sex=p.sex, qrs=qrs, conduction="lbbb", r_amplitude=p.r_amplitude,
                        t_amplitude=p.t_amplitude, voltage=p.voltage, qtc=p.qtc, u_wave=False,
                        axis_deg=PACED_AXIS_DEG, heart_rotation_deg=p.heart_rotation_deg)
    complex_shape = ventricular_shape(paced)
    spike = make_lobes([(spike_offset, 0.0, spike_sigma, spike_sigma, G, 3.0 * unit([0.2, -0.5, -0.8]), False)])
    return BeatShape(concat([spike, complex_shape.lobes]), qrs, complex_shape.r_offset)


def p_wave(p: HeartParams) -> Lobes:
    """Sinus P wave lobes, offsets from P onset; wide and bifid for LAE, tall for RAE."""
    frontal = np.radians(p.p_axis_deg)
    direction = unit([np.cos(frontal), np.sin(frontal), -0.15])
    duration = p.p_duration
    if p.lae:
        rows = [(0.33 * duration, 0.0, duration / 6.5, duration / 6.5, G, p.p_amplitude * direction, False),
                (0.68 * duration, 0.0, duration / 6.5, duration / 6.5, G, 0.13 * unit([0.5, 0.1, 0.9]), False)]
        return make_lobes(rows)
    amplitude = p.p_amplitude
    sigma = duration / 5.0
    if p.rae:
        amplitude, sigma, direction = 0.3, duration / 6.0, unit([0.15, 1.0, -0.35])
    return make_lobes([(0.5 * duration, 0.0, sigma, sigma, G, amplitude * direction, False)])


def ectopic_p_wave(rng: np.random.Generator) -> Lobes:
    """P wave of a premature atrial complex: different axis, smaller."""
    frontal = np.radians(rng.uniform(-60.0, 150.0))
    direction = unit([np.cos(frontal), np.sin(frontal), rng.uniform(-0.5, 0.5)])
    return make_lobes([(0.045, 0.0, 0.018, 0.018, G, 0.1 * direction, False)])


def retrograde_p_wave() -> Lobes:
    """Retrograde (junctional) P: inverted in the inferior leads."""
    return make_lobes([(0.04, 0.0, 0.016, 0.016, G, 0.11 * unit([-0.2, -1.0, 0.1]), False)])


def territory_vector(territory: str) -> np.ndarray:
    """Unit vector pointing at a myocardial territory (its leads see positive deflections)."""
    return unit(TERRITORIES[territory])
