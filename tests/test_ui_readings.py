"""Scores a clinician can read: calibrated findings, reference percentiles, notes for nonsense, and the
same reading whatever else is on screen."""
from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from melp.prompt_reading import match_statement, read_prompt
from melp.synth.simulate import simulate
from ui import handlers, readings
from ui.scores import KIND_FREE, KIND_NONSENSE, KIND_STATEMENT, percentile

DIM = 16


def _vector(text: str) -> np.ndarray:
    seed = int.from_bytes(hashlib.sha256(text.lower().encode()).digest()[:4], "big")
    vector = np.random.default_rng(seed).standard_normal(DIM)
    return vector / np.linalg.norm(vector)


class _Model:
    """Numpy stand-in: embeddings from text hashes, findings from a fixed table."""

    embed_calls = findings_calls = 0

    def embed(self, record):
        self.embed_calls += 1
        return record

    def encode_ecg(self, record):
        return _vector("the ecg")[None]

    def class_embeddings(self, prompts):
        return np.stack([_vector(p if isinstance(p, str) else p[0]) for p in prompts])

    def findings(self, record, label_sets=None):
        self.findings_calls += 1
        rows = [("ptbxl-rhythm", "AFIB", "atrial fibrillation", 0.91, 0.4), ("ptbxl-sub", "CLBBB", "lbbb", 0.07, 0.1),
                ("ptbxl-rhythm", "SR", "sinus rhythm", 0.12, 0.05)]
        table = pd.DataFrame(rows, columns=["label_set", "statement", "name", "probability", "cosine"])
        table.insert(0, "record_id", "x")
        return table[table["label_set"].isin(label_sets)] if label_sets else table

    def explain(self, record, text=None, window=0.0):
        raise AssertionError("not needed here")


class _Library:
    def reference_vectors(self):
        return np.stack([_vector(f"reference {i}") for i in range(200)])


@pytest.fixture()
def session():
    return handlers.load_record(simulate(["atrial_fibrillation"], 0).record)[0]


def _reading(prompts, session, prompt):
    found = readings.read_prompts(_Model(), _Library(), session, prompts)
    return next(r for r in found if r.prompt == prompt)


def test_the_window_is_encoded_once_and_findings_asked_once_for_all_prompts(session):
    model = _Model()
    readings.read_prompts(model, _Library(), session, ["atrial fibrillation", "lbbb", "sinus rhythm", "peaked t waves"])
    assert model.embed_calls == 1 and model.findings_calls == 1


def test_a_reading_does_not_change_when_other_prompts_are_typed(session):
    alone = _reading(["atrial fibrillation"], session, "atrial fibrillation")
    crowded = _reading(["left bundle branch block", "atrial fibrillation", "peaked t waves", "🫀"], session,
                       "atrial fibrillation")
    assert alone == crowded and alone.kind == KIND_STATEMENT and alone.text == "91 % likely"
    free_alone = _reading(["peaked t waves"], session, "peaked t waves")
    assert free_alone == _reading(["atrial fibrillation", "peaked t waves"], session, "peaked t waves")
    assert free_alone.kind == KIND_FREE and free_alone.text.startswith("higher than")


@pytest.mark.parametrize("prompt", ["AFib", "atrial fibrilation", "Atrial Fibrillation!", "a fib"])
def test_abbreviations_misspellings_and_case_reach_the_calibrated_statement(prompt):
    assert match_statement(prompt) is not None and read_prompt(prompt).kind == "statement"


@pytest.mark.parametrize("prompt, statement", [("left bundle brnach block", "CLBBB"), ("sinus bradycardai", "SBRAD"),
                                               ("inferior myocardial infarcton", "IMI")])
def test_typos_keep_their_statement(prompt, statement):
    assert match_statement(prompt)[1] == statement


@pytest.mark.parametrize("prompt, not_meant", [("paroxysmal ventricular tachycardia", "PSVT"),
                                               ("anterior myocardial infarction", "IMI"),
                                               ("inferior myocardial infarction", "AMI"),
                                               ("no atrial fibrillation", "AFIB")])
def test_a_close_string_that_names_another_finding_is_not_read_as_it(prompt, not_meant):
    """Whole strings this close (difflib ratio >= 0.92) read "paroxysmal ventricular tachycardia" as the
    supraventricular one, and "no atrial fibrillation" as atrial fibrillation: answered with the probability
    of another diagnosis, or of the one the prompt denies."""
    matched = match_statement(prompt)
    assert matched is None or matched[1] != not_meant


@pytest.mark.parametrize("prompt", ["", "🫀🫀🫀", "!!!", "asdfgh qwerty zxcvb", "the quick brown fox"])
def test_text_that_is_not_about_ecgs_gets_a_note_not_a_score(prompt, session):
    assert read_prompt(prompt).kind == KIND_NONSENSE
    if prompt:
        reading = _reading([prompt], session, prompt)
        assert reading.percent is None and reading.text.startswith("no score")


def test_free_text_about_ecgs_is_read_against_the_reference_library(session):
    reading = _reading(["hyperkalaemia with peaked t waves"], session, "hyperkalaemia with peaked t waves")
    reference = _Library().reference_vectors() @ _vector("hyperkalaemia with peaked t waves")
    assert reading.percent == pytest.approx(percentile(reading.cosine, reference))


def test_percentile_is_the_share_of_reference_ecgs_scoring_lower():
    assert percentile(0.5, np.array([0.1, 0.2, 0.6, 0.7])) == 50.0
    assert percentile(1.0, np.array([0.1, 0.2])) == 100.0


def test_score_handler_lists_numbers_first_and_offers_only_scored_prompts(session):
    _, figure, rows, chooser = readings.score_prompts(session, "🫀\nlbbb\natrial fibrillation", "", _Model(), {},
                                                      _Library())
    assert [row[0] for row in rows] == ["atrial fibrillation", "lbbb", "🫀"]
    assert rows[0][1] == "91 % likely" and rows[1][1] == "7 % likely" and rows[2][1].startswith("no score")
    assert chooser["choices"] == ["atrial fibrillation", "lbbb"]


class _ExplainingModel(_Model):
    """Two likely findings; explain points the first at the third heartbeat, leaves the second flat."""

    def __init__(self):
        self.explain_calls = 0

    def findings(self, record, label_sets=None):
        table = super().findings(record, label_sets)
        return table.assign(probability=[0.91, 0.07, 0.64][: len(table)])

    def explain(self, record, text=None, window=0.0):
        self.explain_calls += 1
        sentences = [part.strip() + "." for part in text.split(".") if part.strip()]
        heartbeats = self.r_peaks[:5]
        peaked = np.zeros(len(heartbeats))
        peaked[2] = 1.0
        rows = [peaked if index == 0 else np.full(len(heartbeats), 0.3) for index in range(len(sentences))]
        return type("Explanation", (), {"sentences": sentences, "heartbeats": heartbeats,
                                        "sentence_heartbeat_similarity": np.array(rows)})()


def test_likely_findings_come_first_with_their_heartbeats_from_one_explain_call(session):
    model = _ExplainingModel()
    model.r_peaks = session.r_peaks
    text = readings.lead_findings(session, model)
    lines = [line for line in text.splitlines() if line.startswith("- ")]
    assert lines == ["- **atrial fibrillation**: 91 % likely (heartbeats 3)",
                     "- **sinus rhythm**: 64 % likely (the whole recording)"]
    assert model.explain_calls == 1 and "How to read these scores" in text
    assert text.startswith(f"### Likely findings for {session.record.record_id} (")


@pytest.mark.parametrize("prompt", ["no atrial fibrillation", "No AFib", "without atrial fibrillation",
                                    "no evidence of atrial fibrillation"])
def test_a_denied_statement_reads_as_one_minus_its_probability(prompt, session):
    """The text tower ranks ECGs for "no atrial fibrillation" as for "atrial fibrillation" (on the real samples'
    AF and sinus records both rank every AF record first), so a percentile of the words would say the
    opposite of what was asked; the calibrated probability's complement does not."""
    reading = read_prompt(prompt)
    assert reading.kind == "statement" and reading.statement == "AFIB" and reading.negated
    found = readings.read_prompts(_Model(), _Library(), session, [prompt, "atrial fibrillation"])
    denied, named = (next(r for r in found if r.prompt == p) for p in (prompt, "atrial fibrillation"))
    assert named.text == "91 % likely" and denied.text == "9 % likely" and denied.kind == KIND_STATEMENT
    assert denied.cosine is None and "not ptbxl-rhythm AFIB" in denied.row()[2]


def test_a_denied_statement_without_a_calibration_gets_a_note_not_the_findings_percentile(session):
    class Uncalibrated(_Model):
        def findings(self, record, label_sets=None):
            from melp.calibration import CalibrationError

            raise CalibrationError("no calibration.json beside this model")

    found = readings.read_prompts(Uncalibrated(), _Library(), session, ["no atrial fibrillation"])
    assert found[0].kind == KIND_NONSENSE and "does not read 'no'" in found[0].text


def test_a_finding_phrased_with_no_that_is_no_statement_stays_free_text():
    assert read_prompt("no p waves").kind == "free text" and not read_prompt("no p waves").negated


def test_a_denied_finding_is_not_offered_for_highlighting_heartbeats(session):
    *_, chooser = readings.score_prompts(session, "no atrial fibrillation\natrial fibrillation", None, _Model(), {},
                                         _Library())
    assert chooser["choices"] in (["atrial fibrillation"], [("atrial fibrillation", "atrial fibrillation")])


@pytest.mark.parametrize("prompt, meant", [("PVCs", ("ptbxl-form", "PVC")), ("premature ventricular complexes", ("ptbxl-form", "PVC")),
                                           ("RBBB", ("ptbxl-sub", "CRBBB")), ("right bundle branch block", ("ptbxl-sub", "CRBBB")),
                                           ("premature atrial complexes", ("ptbxl-form", "PAC")),
                                           ("junctional rhythm", ("synth", "junctional_rhythm"))])
def test_a_finding_ptbxl_also_calibrates_is_read_as_the_ptbxl_statement(prompt, meant):
    """Calibrated on real ECGs; the simulator's calibration gave real records with PVCs 1 % on average. A
    simulator statement without a PTB-XL equivalent keeps its own."""
    assert match_statement(prompt) == meant


@pytest.mark.parametrize("prompt, meant", [("AFL", "AFLT"), ("IRBBB", "IRBBB"), ("SR", "SR"), ("NSR", "SR"), ("WPW", "WPW"),
                                           ("IMI", "IMI"), ("TWI", "INVT"), ("CHB", "complete_av_block"),
                                           ("1AVB", "first_degree_av_block"), ("bigeminy", "BIGU"), ("LAE", "LAO/LAE")])
def test_the_abbreviations_of_ecg_reports_reach_their_statement(prompt, meant):
    """Typed as reports abbreviate them; "AFL", "CHB" and "1AVB" had no score at all ("not about ECGs")."""
    assert match_statement(prompt)[1] == meant


@pytest.mark.parametrize("prompt", ["AMI", "LAD", "VT", "ST"])
def test_ambiguous_abbreviations_are_not_read_as_a_statement(prompt):
    """AMI is anterior MI in PTB-XL's codes but acute MI to most clinicians; LAD is also the artery."""
    assert match_statement(prompt) is None


def test_every_synonym_reaches_a_statement_except_stemi():
    """A synonym pointing at no shipped phrasing scores its own word as free text (the WPW one did); STEMI is
    the one left so on purpose: no shipped statement is ST-elevation infarction."""
    from melp.prompt_reading import SYNONYMS

    assert [abbreviation for abbreviation in SYNONYMS if match_statement(abbreviation) is None] == ["stemi"]
