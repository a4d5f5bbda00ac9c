"""melp.beats: R peaks on the best lead, RR, heart rate, delineation, and graceful empty results."""
from __future__ import annotations

import neurokit2 as nk
import numpy as np
import pytest

import melp
from melp import EcgRecord

FS = 500
MATCH_SECONDS = 0.08  # a QRS found within 80 ms of the true R peak (P waves lie 120 ms or more before it)


def simulated_record(heart_rate: float, seconds: float = 10, seed: int = 0) -> EcgRecord:
    lead = nk.ecg_simulate(duration=seconds, sampling_rate=FS, heart_rate=heart_rate, random_state=seed, noise=0.01)
    return EcgRecord(signal=np.tile(lead, (12, 1)), fs=FS, record_id=f"sim{heart_rate}")


@pytest.mark.parametrize("heart_rate", [55, 75, 110])
def test_heart_rate_matches_simulated_rate(heart_rate):
    info = melp.beats(simulated_record(heart_rate))
    assert info.lead == "II" and info.fs == FS
    assert info.heart_rate == pytest.approx(heart_rate, abs=4)
    assert info.rr.shape == (info.r_peaks.size - 1,) and info.r_peaks.dtype.kind == "i"


def test_flat_lead_ii_falls_back_to_another_lead():
    record = simulated_record(70)
    signal = record.signal.copy()
    signal[1] = 0.0
    info = melp.beats(EcgRecord(signal=signal, fs=FS))
    assert info.lead != "II" and info.heart_rate == pytest.approx(70, abs=4)


def test_masked_lead_ii_is_not_used():
    record = simulated_record(70)
    mask = np.ones(12, bool)
    mask[1] = False
    info = melp.beats(EcgRecord(signal=record.signal, fs=FS, lead_mask=mask))
    assert info.lead != "II" and info.n_beats > 5


def test_noisy_lead_ii_loses_to_a_clean_lead():
    record = simulated_record(70)
    signal = record.signal.copy()
    signal[1] = np.random.default_rng(0).standard_normal(signal.shape[1])
    assert melp.beats(EcgRecord(signal=signal, fs=FS)).lead != "II"


@pytest.mark.parametrize("signal", [np.zeros((12, 5000)), np.ones((12, 400))], ids=["flat", "short"])
def test_flat_or_short_records_give_empty_beats(signal):
    info = melp.beats(EcgRecord(signal=signal, fs=FS))
    assert info.n_beats == 0 and info.rr.size == 0 and np.isnan(info.heart_rate)


@pytest.mark.parametrize("method", ["dwt", "peak"])
def test_delineation_returns_wave_landmarks_per_beat(method):
    info = melp.beats(simulated_record(70), delineate=method)
    assert info.delineation is not None and "T_Peaks" in info.delineation
    peaks = info.delineation["P_Peaks"]
    assert peaks.size >= info.n_beats - 1 and np.nanmax(peaks) < simulated_record(70).n_samples


def test_unknown_delineation_method_is_refused():
    with pytest.raises(ValueError, match="delineate"):
        melp.beats(simulated_record(70), delineate="wavelet")


@pytest.mark.parametrize("condition", ["complete_av_block", "mobitz_2"])
@pytest.mark.parametrize("seed", [0, 1])
def test_blocked_p_waves_are_not_counted_as_beats(condition, seed):
    from melp.synth.simulate import simulate

    ecg = simulate([condition], seed)
    ventricular = ecg.beat_table[ecg.beat_table["type"] != "nonconducted_p"]["sample"]
    info = melp.beats(ecg.record)
    assert abs(info.n_beats - ventricular.size) <= 1  # an edge beat may be cut
    assert info.heart_rate == pytest.approx(ecg.intervals["heart_rate"], abs=3)
    nearest = np.abs(info.r_peaks[:, None] - ventricular[None]).min(axis=1)
    assert (nearest <= MATCH_SECONDS * ecg.record.fs).all()  # every reported beat is a QRS, none a P wave


def test_consensus_keeps_beats_most_leads_agree_on():
    from melp.data.beats import consensus_peaks

    detections = {"I": np.array([100, 600]), "II": np.array([102, 350, 601]), "V1": np.array([98, 603])}
    assert consensus_peaks(detections, FS)[0].tolist() == [100, 601]


def test_a_premature_beat_a_quarter_second_after_the_last_is_still_a_beat():
    """neurokit2's detector ignores peaks within 0.3 s of the last one by default, which dropped premature
    beats with short coupling (bigeminy) in every lead: the ventricles' refractory period, 0.2 s, is used."""
    from melp.data import beats as beat_module

    fs = 500
    t = np.arange(10 * fs) / fs
    peaks = 0.4 + np.cumsum(np.r_[0.0, np.tile([0.25, 0.75], 10)[:-1]])  # pairs 0.25 s apart (short-coupled bigeminy)
    signal = sum(1.5 * np.exp(-0.5 * ((t - peak) / 0.012) ** 2) for peak in peaks)
    cleaned = np.asarray(nk.ecg_clean(signal, sampling_rate=fs))
    found = beat_module._detect(cleaned, fs)
    assert found.size == peaks.size
    assert np.abs(found / fs - peaks).max() < 0.02


def test_slow_paced_complexes_beside_tall_ectopic_beats_are_still_beats():
    """QRS evidence is the spatial velocity near a candidate against the strongest beats': paced complexes
    (about 30 mV/s) fell under 30 % of the premature ventricular complexes' (200 mV/s) and a paced record
    with PVCs came out at 24 bpm. A beat above 20 mV/s now stays, unless it sits where the T wave of a
    strong beat is; P waves (5-10 mV/s) still go."""
    from melp.data.beats import qrs_beats

    fs = 500.0
    velocity = np.zeros(5000)
    paced = [200, 1000, 1800, 3000, 3800, 4600]
    ectopic = [1400, 2500, 4200]  # common enough to set the reference: the share alone kept only them
    t_wave = [1400 + 150]  # 0.3 s after an ectopic beat, as fast as a paced complex
    late = [2500 + 235]  # 0.47 s after one: a P wave on the end of a slow beat's T wave (heart block)
    p_wave = [2200]
    for samples, speed in ((paced, 30.0), (ectopic, 200.0), (t_wave, 30.0), (late, 25.0), (p_wave, 8.0)):
        velocity[samples] = speed
    candidates = np.sort(np.array(paced + ectopic + t_wave + late + p_wave))
    assert qrs_beats(candidates, velocity, fs).tolist() == sorted(paced + ectopic)


def test_beats_only_two_leads_detect_count_when_they_move_like_a_qrs_clear_of_t_waves():
    """Fast bigeminy: each lead's detector kept one of the two shapes, so the sinus beats had two votes of
    six and the rate came out half the true one (4 records of streams 3 and 4 at 55-68 bpm too low). A
    beat two leads agree on counts when its spatial velocity is a QRS's and it is clear of the T wave of
    the beat before; a tall T wave two leads took for a beat does not."""
    from melp.data.beats import consensus_peaks, qrs_beats

    fs = 500.0
    sinus = np.arange(150, 4800, 440)  # every 0.88 s
    ectopic = sinus + 150  # 0.3 s after each sinus beat
    t_waves = ectopic[:3] + 160  # 0.32 s after an ectopic beat, detected by two leads
    detections = {"II": np.sort(np.concatenate([sinus, t_waves])), "V4": np.sort(np.concatenate([sinus, t_waves])),
                  "aVL": ectopic, "V2": ectopic, "V3": ectopic, "III": ectopic}
    agreed, weak = consensus_peaks(detections, fs)
    assert agreed.tolist() == ectopic.tolist()
    assert sorted(weak.tolist()) == sorted(np.concatenate([sinus, t_waves]).tolist())
    velocity = np.zeros(5000)
    velocity[sinus], velocity[ectopic], velocity[t_waves] = 90.0, 200.0, 70.0  # the T waves also pass the share
    found = qrs_beats(agreed, velocity, fs, weak)
    assert found.tolist() == sorted(np.concatenate([sinus, ectopic]).tolist())


def test_two_beats_closer_than_the_refractory_period_are_one():
    """A wide QRS the leads detect at points more than 80 ms apart formed two agreed clusters, and a
    heart-block escape beat was counted twice (0.13 s apart): the weaker of the two goes."""
    from melp.data.beats import MIN_RR_SECONDS, _refractory

    fs = 500.0
    velocity = np.zeros(5000)
    beats_ = np.array([500, 1400, 1465, 2300])  # 1400 and 1465: 0.13 s apart, one beat
    velocity[beats_] = [60.0, 55.0, 70.0, 60.0]
    assert _refractory(beats_, velocity, fs).tolist() == [500, 1465, 2300]
    assert (1465 - 1400) / fs < MIN_RR_SECONDS


def test_the_same_samples_are_detected_once_and_the_shared_result_cannot_be_changed(monkeypatch):
    from melp.data import beats as beats_module

    beats_module.clear_cache()
    calls = []
    detect = beats_module._beats
    monkeypatch.setattr(beats_module, "_beats", lambda *args: calls.append(args) or detect(*args))
    record = simulated_record(70, seed=3)
    again = EcgRecord(signal=record.signal.copy(), fs=record.fs, record_id="another object, same samples")
    first, second = melp.beats(record), melp.beats(again)
    assert second is first and len(calls) == 1
    with pytest.raises(ValueError, match="read-only"):
        first.r_peaks[0] = 0
    changed = EcgRecord(signal=record.signal * 0.5, fs=record.fs)
    assert melp.beats(changed) is not first and len(calls) == 2  # other samples: detected anew
    assert melp.beats(record, delineate="peak") is not first and len(calls) == 3  # other options too
    for seed in range(beats_module.CACHE_RECORDS):  # bounded: the oldest results are forgotten
        melp.beats(EcgRecord(signal=record.signal + 0.001 * (seed + 1), fs=record.fs))
    melp.beats(record)
    assert len(calls) == 4 + beats_module.CACHE_RECORDS
