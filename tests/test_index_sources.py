"""``--source`` specs: each kind lists its records in a fixed order with reports, labels and provenance."""
import numpy as np
import pytest

from dataset_fixtures import sine_signal, write_challenge, write_mimic, write_ptbxl
from index.sources import parse_source
from melp.datasets.text import normalise_report
from melp.synth import simulate_record
from melp.synth.corpus import write_corpus


def test_synth_corpus_rows_carry_their_seed_and_index(tmp_path):
    write_corpus(tmp_path, 3, seed=5)
    entries = parse_source(f"synth:{tmp_path}")
    assert [(entry.synth_seed, entry.synth_index) for entry in entries] == [(5, 0), (5, 1), (5, 2)]
    record, expected = entries[1].load(), simulate_record(5, 1).record
    assert record.record_id == expected.record_id and set(record.labels) == set(expected.labels)
    assert record.report.rstrip(".") == normalise_report(expected.report).rstrip(".")  # as the MIMIC reader reads it
    np.testing.assert_allclose(record.signal, expected.signal, atol=0.01)  # WFDB stores microvolts


def test_ptbxl_rows_get_report_and_scp_codes(tmp_path):
    write_ptbxl(tmp_path, [{"ecg_id": 2, "patient_id": 1, "strat_fold": 10, "scp_codes": {"IMI": 100.0, "SR": 0.0},
                            "report": "Sinusrhythmus. Inferior MI."},
                           {"ecg_id": 1, "patient_id": 1, "strat_fold": 1, "scp_codes": {"NORM": 100.0},
                            "report": "sinus rhythm normal ECG"}])
    records = [entry.load() for entry in parse_source(f"ptbxl:{tmp_path}")]
    assert [record.record_id for record in records] == ["ptbxl-1", "ptbxl-2"]
    assert records[1].labels == ("IMI", "SR") and records[1].report == "sinusrhythmus. inferior mi."


def test_challenge_rows_take_labels_from_headers(tmp_path):
    write_challenge(tmp_path, "A0001", sine_signal(1), ("164889003",))
    write_challenge(tmp_path, "A0002", sine_signal(2), ("426783006",))
    entries = parse_source(f"challenge:{tmp_path}")
    assert [entry.source_path.endswith(".hea") for entry in entries] == [True, True]
    assert entries[0].load().labels  # readable names of the #Dx codes


def test_mimic_rows_get_joined_reports(tmp_path):
    write_mimic(tmp_path, [{"subject_id": 10000001, "study_id": 40000001, "signal": sine_signal(3),
                            "report_lines": ["Sinus rhythm", "Left axis deviation", "Abnormal ECG"]}])
    (entry,) = parse_source(f"mimic:{tmp_path}")
    record = entry.load()
    assert record.report == "sinus rhythm. left axis deviation. abnormal ecg"
    assert entry.synth_seed is None and record.source


def test_simulated_rows_regenerate_without_files():
    entries = parse_source("simulated:4:2")
    assert entries[1].source_path is None and entries[1].load().record_id == simulate_record(4, 1).record.record_id


@pytest.mark.parametrize("spec", ["nonsense", "zip:foo", "simulated:x:3", "folder:"])
def test_malformed_specs_are_rejected_with_the_expected_form(spec):
    with pytest.raises(ValueError, match="KIND|simulated:SEED:N"):
        parse_source(spec)
