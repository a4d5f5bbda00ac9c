"""melp.p_wave_on_t: the P onset at fast rates, where the P wave rises out of the previous T wave."""
from __future__ import annotations

import numpy as np

import melp
from melp.synth.simulate import simulate

SEED = 4242  # simulate(conditions, seed): a stream no corpus draws from (as in test_measurements)


def test_a_p_wave_on_the_t_wave_starts_where_it_does_not_at_the_trough():
    """At 140 bpm the P wave rises out of the previous T wave's downslope: the trough between them is 26 ms
    after the true P onset. With the T wave's direction across the leads projected out, the onset is found
    within 2 samples; at 90 bpm, and with a T wave flatter than the P wave, the onset is left as found."""
    from melp.delineation import p_onset
    from melp.p_wave_on_t import p_onset_on_t

    fs, onset, time = 500.0, 400, np.arange(700)
    gauss = lambda centre, sigma: np.exp(-0.5 * ((time - centre) / sigma) ** 2)
    t_dir = np.array([1.0, 1.0, 0.5, -0.5, 0.2, 1.0, 1.0, 0.8])
    p_dir = np.array([0.5, 1.0, 0.8, 0.6, -0.2, 0.3, 0.6, 0.2])

    def beat(rr_s, t_height):  # the previous beat's T wave, the P wave (peak 345), the QRS, this beat's T
        t_waves = t_height * (gauss(285, 20) + gauss(285 + rr_s * fs, 20))
        return np.outer(t_dir, t_waves) + np.outer(p_dir, 0.1 * gauss(345, 12)) + np.outer(np.ones(8), gauss(420, 6))

    true_onset = 345 - 12 * np.sqrt(-2.0 * np.log(0.05))  # where the P wave is 5 % of its height
    fast = beat(0.43, 0.3)
    found = p_onset(fast, onset, fs, 0.43)
    assert found is not None and found[0] - true_onset > 10  # the trough: late
    refined = p_onset_on_t(fast, onset, fs, 0.43, found)
    assert abs(refined[0] - true_onset) <= 2 and refined[1] == found[1], (refined, true_onset)
    assert p_onset_on_t(fast, onset, fs, 0.67, found) == found  # 90 bpm: the P wave is clear of the T wave
    flat = beat(0.43, 0.02)
    assert p_onset_on_t(flat, onset, fs, 0.43, p_onset(flat, onset, fs, 0.43)) == p_onset(flat, onset, fs, 0.43)


def test_the_pr_method_says_when_the_onset_was_sought_on_the_t_wave():
    """The measurement table says how the PR was found: at 110 bpm and faster, also with the T wave projected out."""
    from melp.p_wave_on_t import METHOD

    fast = melp.measure(simulate(["sinus_tachycardia"], SEED + 900).record)  # 114 bpm
    slow = melp.measure(simulate(["sinus_bradycardia"], SEED + 900).record)
    assert fast.heart_rate >= 110 and fast.pr_ms is not None and fast.methods["pr_ms"].endswith(METHOD)
    assert slow.pr_ms is not None and METHOD not in slow.methods["pr_ms"]
