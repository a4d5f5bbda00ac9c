"""Is the wave before the QRS a P wave? Two rhythms whose atrial waves the P-wave search takes for one.

``melp.measure`` finds a P wave in the median beat and keeps it where every beat repeats it
(``delineation.p_is_consistent``). Two rhythms pass that check without P waves, and a PR was shown for
them (PTB-XL fold 9: 16 of 151 records labelled atrial fibrillation, 5 of 6 labelled atrial flutter):
- **atrial fibrillation**: coarse fibrillatory waves average to a bump that the beats share loosely. In
  an irregular rhythm the beats must share it more closely (median correlation 0.8, not 0.7); where they
  do not, each beat's own P wave is still sought as in Wenckebach block, whose P waves move against the
  QRS (PTB-XL 01222 gets its PR range that way). P waves of several shapes (frequent premature atrial
  beats) fail the closer check too: on fold 9 the PR of 7 of the 16 atrial fibrillation records went, and
  of 4 of the 1,088 records without atrial fibrillation or flutter (premature atrial or ventricular beats,
  bigeminy; 0.85 took 14 of them for 8 of the 16);
- **2:1 atrial flutter**: the flutter wave before each QRS is locked to it, as a P wave is, and the one
  between the beats hides in the QRS or T wave. Typical flutter waves point up (negative in II, III and
  aVF), sinus P waves down and to the left (0 to +75 degrees); a fast regular rhythm whose atrial wave
  points up is taken for flutter (or an atrial or junctional tachycardia, where a PR is not the
  conduction time either) and its PR is not given. Its axis is named in the method. On fold 9 this took
  all 5 flutter records' PR and two more, whose reports say flutter (00800) and supraventricular
  tachycardia (07296); no sinus tachycardia (82 of 83 keep their PR, as before).
Chosen on the simulator's streams 3 and 4 and PTB-XL fold 9 (docs/measurements.md, round 8). Written by
hand: no library (neurokit2 included) tells P waves from flutter or fibrillatory waves.
"""
from __future__ import annotations

import numpy as np

IRREGULAR_RR_SHARE = 0.1  # median change between successive RRs over the median RR above this: irregular
P_CONSISTENCY_IRREGULAR = 0.8  # in an irregular rhythm the beats' P windows correlate this well with the median's
FLUTTER_MIN_BPM = 120.0  # 2:1 flutter conducts 240-350 atrial waves a minute: a ventricular rate of 120-175
SUPERIOR_AXIS = (-170.0, -45.0)  # degrees: an atrial wave pointing up (negative in the inferior leads)
FIBRILLATORY = ("not measurable: in this irregular rhythm the beats repeat the wave before the QRS only loosely: "
                "fibrillatory waves or P waves of several shapes (atrial fibrillation, premature atrial beats?)")


def rr_irregularity(rr_s: np.ndarray) -> float:
    """Median absolute change between successive RR intervals, as a share of the median RR (0 when fewer
    than three RRs): a few ms in sinus rhythm, a fifth of the RR and more in atrial fibrillation."""
    rr_s = np.asarray(rr_s, dtype=float)
    rr_s = rr_s[np.isfinite(rr_s)]
    if rr_s.size < 3:
        return 0.0
    return float(np.median(np.abs(np.diff(rr_s))) / np.median(rr_s))


def is_irregular(rr_s: np.ndarray) -> bool:
    return rr_irregularity(rr_s) > IRREGULAR_RR_SHARE


def flutter_like(heart_rate: float | None, irregular: bool, p_axis: float | None) -> bool:
    """True when a fast regular rhythm's atrial wave points up: flutter waves (2:1), not a sinus P wave."""
    return (heart_rate is not None and heart_rate >= FLUTTER_MIN_BPM and not irregular and p_axis is not None
            and SUPERIOR_AXIS[0] <= p_axis <= SUPERIOR_AXIS[1])


def flutter_method(p_axis: float) -> str:
    """What the measurement table says where ``flutter_like`` withheld the PR."""
    return (f"not measurable: the wave before each QRS points up (axis {p_axis:.0f} degrees) at a fast regular "
            "rate: flutter waves, not a sinus P wave (2:1 atrial flutter, or an atrial or junctional tachycardia?)")
