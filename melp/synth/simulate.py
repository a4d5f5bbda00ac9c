"""Simulate one 12-lead ECG with its report and ground truth: the public entry points.

``simulate(conditions, seed)`` for chosen conditions; ``simulate_record(seed, index)`` draws the
conditions from the default label mix and depends on (seed, index) alone, so corpus record i can
be regenerated without the others.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from melp.record import STANDARD_LEADS, EcgRecord
from melp.synth import atrial, leadfield, noise, rhythm, shapes
from melp.synth.conditions import CONDITIONS, STATEMENTS, complete, conflicts, draw_conditions
from melp.synth.effects import EFFECTS
from melp.synth.params import HeartParams, draw_patient
from melp.synth.reports import compose_report, summary_statement
from melp.synth.vcg import Lobes, concat, net_qrs_area, render

GENERATOR_VERSION = "melp-synth-1"
STUDY_ID_BASE = 40_000_000  # corpus study ids are STUDY_ID_BASE + index (MIMIC-like 8 digits)
BEAT_TYPES = ("normal", "pac", "pvc", "paced", "nonconducted_p")
_BEAT_TYPE_OF_KIND = {"normal": "normal", "escape": "normal", "pac": "pac", "pvc": "pvc", "paced": "paced"}
BEAT_TABLE_DTYPE = np.dtype([("sample", np.int64), ("type", "U14")])
MS = 1000.0


@dataclass(frozen=True)
class SimulatedEcg:
    """One simulated ECG: the record (signal, report, labels) and its ground truth."""

    record: EcgRecord
    labels: np.ndarray  # (len(STATEMENTS),) float32 multi-hot
    beat_table: np.ndarray  # (K,) structured: sample (R peak, or P peak for nonconducted_p), type
    intervals: dict[str, float | None]  # heart_rate bpm, rr/pr/qrs/qt/qt_beats/qtc/p_duration ms (None: undefined)
    axis: float  # frontal QRS axis, degrees
    conditions: tuple[str, ...]
    p_axis: float | None = None
    t_axis: float | None = None
    report_sentences: tuple[str, ...] = field(default_factory=tuple)
    noise_level: float = 0.0


def study_id(index: int) -> int:
    """Corpus study id of record ``index``."""
    return STUDY_ID_BASE + int(index)


def validate_conditions(conditions: Sequence[str]) -> list[str]:
    """Check names and compatibility; returns the completed, ordered condition list."""
    if isinstance(conditions, str):
        conditions = [conditions]
    unknown = [c for c in conditions if c not in EFFECTS]
    if unknown:
        raise ValueError(f"unknown condition(s) {unknown}; valid conditions are {list(CONDITIONS)}")
    completed = complete(list(conditions))
    reasons = conflicts(completed)
    if reasons:
        raise ValueError(f"impossible condition set {completed}: {'; '.join(reasons)}; drop one of each pair")
    return completed


def simulate(conditions: Sequence[str], seed: int | np.random.SeedSequence, fs: float = 500, seconds: float = 10,
             noise: str | float = "default", age: float | None = None, sex: str | None = None,
             heart_rate: float | None = None) -> SimulatedEcg:
    """Simulate an ECG with the given conditions (sinus rhythm added when no rhythm is named).

    ``heart_rate`` (bpm) overrides the rate a rhythm condition would draw; for atrial flutter it picks
    the nearest conduction ratio (2:1 to 4:1) with F waves kept within 260-340 /min.
    """
    completed = validate_conditions(conditions)
    rng = np.random.default_rng(seed)
    return _simulate(completed, rng, fs, seconds, noise, age, sex, heart_rate, record_id=f"synth-{seed}")


def simulate_record(seed: int, index: int, fs: float = 500, seconds: float = 10,
                    mix: Mapping[str, float] | None = None) -> SimulatedEcg:
    """Corpus record ``index`` of the corpus with this ``seed``: conditions from the label mix."""
    rng = np.random.default_rng([int(seed), int(index)])
    conditions = draw_conditions(rng, mix)
    return _simulate(conditions, rng, fs, seconds, "default", None, None, None, record_id=str(study_id(index)))


def _heart(conditions: list[str], rng: np.random.Generator, age: float | None, sex: str | None,
           heart_rate: float | None) -> HeartParams:
    params = draw_patient(rng, age, sex)
    if heart_rate is not None:
        params.heart_rate, params.rate_fixed = float(heart_rate), True
    for condition in conditions:
        EFFECTS[condition](params, rng)
    return params


def _place(shape_lobes: Lobes, onsets: np.ndarray, qts: np.ndarray) -> tuple[np.ndarray, Lobes]:
    """Tile one shape's lobes over n beats: centres (n * L,) and the matching repeated lobes."""
    centres = onsets[:, None] + shape_lobes.offset[None, :] + qts[:, None] * shape_lobes.qt_coeff[None, :]
    n = len(onsets)
    tiled = Lobes(*(np.tile(getattr(shape_lobes, name), n) for name in
                    ("offset", "qt_coeff", "sigma_left", "sigma_right", "power")),
                  np.tile(shape_lobes.vectors, (n, 1)), np.tile(shape_lobes.is_qrs, n))
    return centres.reshape(-1), tiled


def _beat_shapes(p: HeartParams, rng: np.random.Generator, fs: float) -> dict[str, shapes.BeatShape]:
    conducted = shapes.ventricular_shape(p)
    return {
        "normal": conducted,
        "pac": conducted,
        "pvc": shapes.pvc_shape(p, rng),
        "escape": shapes.pvc_shape(p, rng),
        "paced": shapes.paced_shape(p, fs),
    }


def _cardiac_vector(p: HeartParams, timeline: rhythm.Timeline, beat_shapes: dict, rng: np.random.Generator,
                    t: np.ndarray, fs: float, flutter_phase: float) -> np.ndarray:
    """Render every P wave and ventricular complex, plus f/F waves, into the vector signal (3, T)."""
    centres, placed = [], []
    kinds = np.asarray(timeline.v_kinds)
    for kind, shape in beat_shapes.items():
        chosen = kinds == kind
        if chosen.any():
            c, lobes = _place(shape.lobes, timeline.v_onsets[chosen], timeline.qt[chosen])
            centres.append(c)
            placed.append(lobes)
    p_shapes = {"sinus": shapes.p_wave(p), "ectopic": shapes.ectopic_p_wave(rng),
                "retrograde": shapes.retrograde_p_wave()}
    p_kinds = np.asarray(timeline.p_kinds)
    for kind, p_lobes in p_shapes.items():
        chosen = p_kinds == kind
        if chosen.any():
            onsets = timeline.p_onsets[chosen]
            c, lobes = _place(p_lobes, onsets, np.zeros(len(onsets)))
            centres.append(c)
            placed.append(lobes)
    vector = render(np.concatenate(centres), concat(placed), fs, len(t))
    if p.rhythm == "af":
        vector += atrial.fibrillatory_waves(t, rng)
    elif p.rhythm == "flutter":
        vector += atrial.flutter_waves(t, p.flutter_rate, flutter_phase, rng)
    return vector


def _simulate(conditions: list[str], rng: np.random.Generator, fs: float, seconds: float, noise_spec: str | float,
              age: float | None, sex: str | None, heart_rate: float | None, record_id: str) -> SimulatedEcg:
    if fs <= 0 or seconds <= 0:
        raise ValueError(f"fs={fs!r} Hz and seconds={seconds!r}; both must be > 0")
    params = _heart(conditions, rng, age, sex, heart_rate)
    beat_shapes = _beat_shapes(params, rng, fs)
    flutter_phase = float(rng.uniform())
    timeline = rhythm.build_timeline(params, rng, seconds, flutter_phase)
    n_samples = int(round(fs * seconds))
    t = np.arange(n_samples) / fs
    clean = leadfield.project(_cardiac_vector(params, timeline, beat_shapes, rng, t, fs, flutter_phase))
    level = noise.draw_level(noise_spec, rng)
    signal = noise.add_noise(clean, level, fs, rng).astype(np.float32)  # (12, T) mV
    dominant = _dominant_shape(params, timeline, beat_shapes)
    intervals = _intervals(params, timeline, dominant, seconds, beat_shapes)
    axis = leadfield.frontal_axis_degrees(net_qrs_area(dominant.lobes))
    measurements = {"heart_rate": intervals["heart_rate"], "pr": intervals["pr"], "qrs": intervals["qrs"],
                    "qtc": intervals["qtc"], "axis": axis}
    sentences, report = compose_report(conditions, measurements, rng)
    statements = tuple(conditions) + (summary_statement(conditions),)
    labels = np.isin(np.asarray(STATEMENTS), statements).astype(np.float32)
    record = EcgRecord(signal=signal, fs=fs, leads=STANDARD_LEADS, record_id=record_id, report=report,
                       labels=statements, age=round(params.age), sex=params.sex)
    return SimulatedEcg(record=record, labels=labels, beat_table=_beat_table(timeline, beat_shapes, params, fs,
                                                                             n_samples),
                        intervals=intervals, axis=axis, conditions=tuple(conditions),
                        p_axis=_wave_axis(shapes.p_wave(params)) if timeline.pr is not None else None,
                        t_axis=_wave_axis(dominant.lobes, repolarisation=True),
                        report_sentences=tuple(sentences), noise_level=level)


def _dominant_shape(p: HeartParams, timeline: rhythm.Timeline, beat_shapes: dict) -> shapes.BeatShape:
    """The shape of the rhythm's own beats (paced, wide escape, or conducted)."""
    if p.rhythm == "paced":
        return beat_shapes["paced"]
    if "escape" in timeline.v_kinds:
        return beat_shapes["escape"]
    return beat_shapes["normal"]


def _wave_axis(lobes: Lobes, repolarisation: bool = False) -> float:
    """Frontal axis (degrees) of the summed lobe areas (T lobes only when ``repolarisation``)."""
    chosen = ~lobes.is_qrs if repolarisation else np.ones(lobes.n, bool)
    widths = (lobes.sigma_left[chosen] + lobes.sigma_right[chosen]) / 2.0
    return leadfield.frontal_axis_degrees((lobes.vectors[chosen] * widths[:, None]).sum(axis=0))


def _intervals(p: HeartParams, timeline: rhythm.Timeline, dominant: shapes.BeatShape,
               seconds: float, beat_shapes: dict) -> dict[str, float | None]:
    """Ground-truth intervals (ms) and ventricular rate (bpm) over the beats inside the record.

    ``qt`` is the QT at the mean RR (Fridericia); ``qt_beats`` the median of the QT intervals the beats of
    the dominant shape actually have, each set by its own preceding RR: the two differ where the rhythm is
    irregular (after a compensatory pause or a dropped beat a beat's QT is longer)."""
    within = (timeline.v_onsets >= 0) & (timeline.v_onsets < seconds)
    inside = timeline.v_onsets[within]
    rr = float(np.mean(np.diff(inside))) if len(inside) > 1 else 60.0 / p.heart_rate
    qt = p.qtc * rr ** (1.0 / 3.0)
    own_kinds = [kind for kind, shape in beat_shapes.items() if shape is dominant]
    own = np.isin(np.asarray(timeline.v_kinds)[within], own_kinds)
    qt_beats = float(np.median(timeline.qt[within][own])) if own.any() else qt
    has_p = timeline.pr is not None
    return {
        "heart_rate": 60.0 / rr,
        "rr": rr * MS,
        "pr": timeline.pr * MS if has_p else None,
        "p_duration": p.p_duration * MS if has_p else None,
        "qrs": dominant.qrs * MS,
        "qt": qt * MS,
        "qt_beats": qt_beats * MS,
        "qtc": float(qt / np.sqrt(rr)) * MS,
    }


def _beat_table(timeline: rhythm.Timeline, beat_shapes: dict, p: HeartParams, fs: float,
                n_samples: int) -> np.ndarray:
    """R peak (or blocked P peak) sample and beat type of every event inside the record, in time order."""
    rows = [(int(round((onset + beat_shapes[kind].r_offset) * fs)), _BEAT_TYPE_OF_KIND[kind])
            for onset, kind in zip(timeline.v_onsets, timeline.v_kinds)]
    blocked = timeline.p_onsets[~timeline.p_conducted] if len(timeline.p_conducted) else np.zeros(0)
    rows += [(int(round((onset + p.p_duration / 2.0) * fs)), "nonconducted_p") for onset in blocked]
    table = np.array(sorted(r for r in rows if 0 <= r[0] < n_samples), dtype=BEAT_TABLE_DTYPE)
    return table
