"""Statements, reports, labels, condition rules and the public simulate() contract."""
from __future__ import annotations

import re
from collections import Counter

import numpy as np
import pytest

from melp.record import STANDARD_LEADS
from melp.synth import CONDITIONS, STATEMENTS, SimulatedEcg, simulate, simulate_record, statement_text
from melp.synth.conditions import RHYTHMS, conflicts, draw_conditions
from melp.synth.reports import PHRASINGS
from melp.synth.simulate import BEAT_TYPES

LEAD = {name: i for i, name in enumerate(STANDARD_LEADS)}


def test_every_statement_has_at_least_three_phrasings_and_a_readable_name():
    for statement in STATEMENTS:
        assert len(set(PHRASINGS[statement])) >= 3, statement
        assert statement_text(statement) and "_" not in statement_text(statement)
    assert statement_text("atrial_fibrillation") == "atrial fibrillation"


def test_statement_text_rejects_unknown_id():
    with pytest.raises(KeyError, match="valid statements"):
        statement_text("not_a_statement")


def test_every_condition_simulates_and_owns_its_report_sentence():
    for index, condition in enumerate(CONDITIONS):
        ecg = simulate([condition], seed=index, fs=250, seconds=5)
        assert condition in ecg.conditions
        assert ecg.labels[STATEMENTS.index(condition)] == 1.0
        assert len(ecg.report_sentences) == len(ecg.conditions) + 1
        assert np.isfinite(ecg.record.signal).all()


def test_report_has_rhythm_first_and_summary_last():
    ecg = simulate(["lvh_strain", "left_axis_deviation"], seed=3)
    sentences = ecg.record.report.rstrip(".").split(". ")
    assert sentences[0] == ecg.report_sentences[0]
    assert "sinus" in sentences[0].lower() or sentences[0].startswith("NSR")
    assert sentences[-1] in {"Abnormal ECG", "Abnormal electrocardiogram", "Abnormal tracing"}
    assert ecg.record.report.endswith(".")


def test_normal_sinus_rhythm_gets_normal_summary_and_labels():
    ecg = simulate(["sinus_rhythm"], seed=0)
    assert set(ecg.record.labels) == {"sinus_rhythm", "normal_ecg"}
    assert ecg.labels.sum() == 2 and ecg.labels.shape == (len(STATEMENTS),)


def test_every_report_keeps_at_least_four_word_tokens():
    """Training drops reports under 4 word tokens (MIN_REPORT_TOKENS), so even the shortest must pass."""
    def tokens(template: str) -> int:  # placeholders become one number or word each
        return len(re.findall(r"[A-Za-z0-9]+", re.sub(r"\{\w+\}", "70", template)))

    shortest_summary = min(tokens(t) for s in ("normal_ecg", "borderline_ecg", "abnormal_ecg") for t in PHRASINGS[s])
    shortest_rhythm = min(tokens(t) for rhythm in RHYTHMS for t in PHRASINGS[rhythm])
    assert shortest_rhythm + shortest_summary >= 4


def test_phrasings_vary_across_records():
    reports = {simulate(["atrial_fibrillation", "rbbb"], seed=s).record.report for s in range(12)}
    assert len(reports) >= 4


def test_unknown_condition_lists_valid_ones():
    with pytest.raises(ValueError, match="valid conditions are"):
        simulate(["atrial_fibrilation"], seed=0)


@pytest.mark.parametrize("pair", [("atrial_fibrillation", "first_degree_av_block"), ("lbbb", "rbbb"),
                                  ("atrial_fibrillation", "atrial_flutter"), ("wpw", "short_pr")])
def test_impossible_pairs_are_rejected(pair):
    with pytest.raises(ValueError, match="impossible"):
        simulate(list(pair), seed=0)


def test_custom_mix_shifts_frequencies_and_rejects_unknown_names():
    mix = {"atrial_fibrillation": 50.0, "lbbb": 0.6}
    drawn = [draw_conditions(np.random.default_rng([1, i]), mix) for i in range(200)]
    assert sum("atrial_fibrillation" in d for d in drawn) > 150
    assert sum("lbbb" in d for d in drawn) > 20
    with pytest.raises(ValueError, match="unknown conditions"):
        draw_conditions(np.random.default_rng(0), {"afib": 1.0})


def test_drawn_condition_sets_are_coherent_with_one_rhythm():
    for index in range(300):
        drawn = draw_conditions(np.random.default_rng([7, index]))
        assert not conflicts(drawn), drawn
        assert sum(c in RHYTHMS for c in drawn) == 1


def test_default_mix_gives_every_condition_at_least_one_percent():
    counts, n = Counter(), 6000
    for index in range(n):
        counts.update(draw_conditions(np.random.default_rng([0, index])))
    rare = {c: counts[c] / n for c in CONDITIONS if counts[c] / n < 0.01}
    assert not rare, rare


def test_limb_leads_obey_einthoven_and_goldberger_even_with_noise():
    signal = simulate(["st_elevation_inferior", "pvc"], seed=5, noise=2.0).record.signal.astype(np.float64)
    lead = {name: signal[LEAD[name]] for name in STANDARD_LEADS}
    tolerance = 1e-4  # float32 rounding
    assert np.abs(lead["I"] + lead["III"] - lead["II"]).max() < tolerance
    assert np.abs(lead["aVR"] + lead["aVL"] + lead["aVF"]).max() < tolerance


def test_record_fields_follow_the_contract():
    ecg = simulate(["sinus_rhythm"], seed=1, fs=360, seconds=8, age=70, sex="F")
    record = ecg.record
    assert isinstance(ecg, SimulatedEcg)
    assert record.signal.shape == (12, 2880) and record.signal.dtype == np.float32
    assert record.leads == STANDARD_LEADS and record.fs == 360.0
    assert record.age == 70 and record.sex == "F"
    assert set(ecg.intervals) >= {"pr", "qrs", "qt", "qtc", "heart_rate"}


def test_beat_table_marks_ectopy_pacing_and_blocked_p_waves():
    def types(conditions, seed=0):
        return Counter(simulate(conditions, seed=seed, heart_rate=75).beat_table["type"])

    assert types(["pvc"])["pvc"] >= 1
    assert types(["pac"])["pac"] >= 1
    assert types(["ventricular_paced_rhythm"])["paced"] >= 10
    assert types(["mobitz_2"])["nonconducted_p"] >= 1
    assert types(["ventricular_bigeminy"])["pvc"] >= 4
    assert set(types(["sinus_rhythm"])) == {"normal"}
    assert set(types(["complete_av_block", "lbbb"])) <= set(BEAT_TYPES)


def test_higher_noise_level_adds_high_frequency_content():
    signal = simulate(["sinus_rhythm"], seed=2, noise="none").record.signal
    noisy = simulate(["sinus_rhythm"], seed=2, noise=3.0).record.signal
    assert np.abs(np.diff(signal, n=2, axis=1)).mean() < np.abs(np.diff(noisy, n=2, axis=1)).mean()


def test_simulate_is_deterministic_for_a_seed():
    first = simulate(["atrial_fibrillation", "pvc"], seed=11)
    second = simulate(["atrial_fibrillation", "pvc"], seed=11)
    assert first.record.signal.tobytes() == second.record.signal.tobytes()
    assert first.record.report == second.record.report


def test_simulate_record_depends_only_on_seed_and_index():
    later = simulate_record(0, 17)
    simulate_record(0, 3)
    again = simulate_record(0, 17)
    assert later.record.signal.tobytes() == again.record.signal.tobytes()
    assert later.record.record_id == again.record.record_id
    assert simulate_record(1, 17).record.signal.tobytes() != later.record.signal.tobytes()
