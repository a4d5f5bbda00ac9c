"""Fixed lead field: projects the 3-D cardiac vector onto the 12 standard leads.

Coordinates follow Frank's convention: X points to the patient's left, Y to the feet, Z to the back.
Limb leads are exact frontal-plane projections (so Einthoven's and Goldberger's laws hold to rounding),
the precordial rows are approximately Dower's transform (Dower et al. 1980), which gives realistic
R-wave progression from V1 to V6.
"""
from __future__ import annotations

import numpy as np

from melp.record import STANDARD_LEADS

# Gain of the bipolar limb leads relative to the vector (mV per mV of dipole amplitude).
LIMB_GAIN = 0.85
COS_60 = 0.5
SIN_60 = np.sqrt(3.0) / 2.0

# Chest electrodes sit closer to the heart than the limb electrodes: extra gain on the Dower rows.
PRECORDIAL_GAIN = 1.2
# Precordial rows (X, Y, Z), approximately Dower's inverse-VCG coefficients.
PRECORDIAL_ROWS = PRECORDIAL_GAIN * np.array(
    [
        [-0.515, 0.157, -0.917],  # V1
        [0.044, 0.164, -1.387],  # V2
        [0.882, 0.098, -1.277],  # V3
        [1.213, 0.127, -0.601],  # V4
        [1.125, 0.127, -0.086],  # V5
        [0.831, 0.076, 0.230],  # V6
    ]
)


def _limb_rows() -> np.ndarray:
    """(6, 3) rows for I, II, III, aVR, aVL, aVF derived from leads I and II (Goldberger)."""
    lead_i = np.array([1.0, 0.0, 0.0]) * LIMB_GAIN
    lead_ii = np.array([COS_60, SIN_60, 0.0]) * LIMB_GAIN
    return np.stack(
        [
            lead_i,
            lead_ii,
            lead_ii - lead_i,  # III
            -(lead_i + lead_ii) / 2.0,  # aVR
            lead_i - lead_ii / 2.0,  # aVL
            lead_ii - lead_i / 2.0,  # aVF
        ]
    )


LEAD_FIELD = np.concatenate([_limb_rows(), PRECORDIAL_ROWS]).astype(np.float64)  # (12, 3)
assert LEAD_FIELD.shape == (len(STANDARD_LEADS), 3)

LEAD_INDEX = {name: i for i, name in enumerate(STANDARD_LEADS)}

# Electrode potentials -> leads, for noise that lives on electrodes (RA, LA, LL, V1..V6).
N_ELECTRODES = 9


def _electrode_matrix() -> np.ndarray:
    """(12, 9) matrix mapping electrode potentials to the 12 leads (Wilson terminal for V1-V6)."""
    ra, la, ll = np.eye(N_ELECTRODES)[:3]
    wilson = (ra + la + ll) / 3.0
    limb = [la - ra, ll - ra, ll - la, ra - (la + ll) / 2, la - (ra + ll) / 2, ll - (ra + la) / 2]
    chest = [np.eye(N_ELECTRODES)[3 + k] - wilson for k in range(6)]
    return np.stack(limb + chest)


ELECTRODE_TO_LEADS = _electrode_matrix()  # (12, 9)


def project(vector_signal: np.ndarray) -> np.ndarray:
    """Project a cardiac vector (3, T) onto the 12 standard leads, returning (12, T)."""
    return LEAD_FIELD @ vector_signal


def frontal_axis_degrees(net_vector: np.ndarray) -> float:
    """Frontal axis (degrees) of a net vector, measured as clinicians do from leads I and aVF."""
    lead_i = LEAD_FIELD[LEAD_INDEX["I"]] @ net_vector
    lead_avf = LEAD_FIELD[LEAD_INDEX["aVF"]] @ net_vector
    return float(np.degrees(np.arctan2(lead_avf, lead_i)))


def steer_frontal_axis(vectors: np.ndarray, current_deg: float, target_deg: float) -> np.ndarray:
    """Rotate lobe vectors (L, 3) in the (I, aVF) plane so their axis moves from current to target.

    The rotation happens in lead space (I, aVF), mapped back to X/Y, so the axis measured from
    leads I and aVF lands exactly on ``target_deg``; Z (anterior-posterior) is untouched.
    """
    delta = np.radians(target_deg - current_deg)
    avf_scale = LEAD_FIELD[LEAD_INDEX["aVF"], 1] / LEAD_FIELD[LEAD_INDEX["I"], 0]
    x = vectors[:, 0]
    y_scaled = vectors[:, 1] * avf_scale
    rotated = vectors.copy()
    rotated[:, 0] = np.cos(delta) * x - np.sin(delta) * y_scaled
    rotated[:, 1] = (np.sin(delta) * x + np.cos(delta) * y_scaled) / avf_scale
    return rotated
