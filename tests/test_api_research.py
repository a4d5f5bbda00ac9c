"""The API as researchers use it: provenance, encode once, one generation interface, quiet loading,
and readers for data as it is distributed (CinC 2020 headers, LUDB metadata, normalised arrays)."""
from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import wfdb

import melp
from melp import STANDARD_LEADS, EcgReadWarning
from tests.tiny_melp import spiky_record, tiny_model

ROOT = Path(__file__).resolve().parents[1]
PROMPT_SETS = (["atrial fibrillation", "sinus rhythm"], ["left bundle branch block"], ["normal ecg", "pvc"])


@pytest.fixture(scope="module")
def model():
    return tiny_model(heartbeat_pooling=True)


def test_encode_once_score_many_runs_the_ecg_tower_once(model, monkeypatch):
    records = [spiky_record(seed) for seed in range(5)]
    calls = []
    original = model.encode_ecg_tensors
    monkeypatch.setattr(model, "encode_ecg_tensors", lambda *a, **k: calls.append(1) or original(*a, **k))
    embedded = model.embed(records)
    scores = [model.zero_shot(embedded, prompts) for prompts in PROMPT_SETS]
    features, rhythm = model.features(embedded), model.encode_ecg(embedded)
    assert len(calls) == 1  # one batch of five records, encoded once for everything above
    assert [s.shape for s in scores] == [(5, 2), (5, 1), (5, 2)] and features.shape == rhythm.shape == (5, 32)
    direct = model.zero_shot(records, PROMPT_SETS[0])
    np.testing.assert_allclose(scores[0], direct, atol=1e-6)
    np.testing.assert_allclose(direct, model.encode_ecg(records) @ model.class_embeddings(PROMPT_SETS[0]).T, atol=1e-6)


def test_embeddings_of_another_model_are_refused(model):
    embedded = tiny_model(seed=1).embed([spiky_record(0)])
    with pytest.raises(ValueError, match="embed the records again"):
        model.zero_shot(embedded, ["sinus rhythm"])


def test_one_generation_interface_for_one_record_and_many(model):
    records = [spiky_record(seed) for seed in range(3)]
    batched = model.generate_reports(records, num_beams=2, max_new_tokens=8)
    assert batched[1] == model.generate_report(records[1], num_beams=2, max_new_tokens=8)
    with pytest.raises(TypeError, match="generate_reports"):
        model.generate_report(records, num_beams=2)
    assert melp.GenerationConfig(num_beams=2).num_beams == 2  # exported for those who want it


def test_a_loaded_model_says_where_it_came_from(tmp_path, model):
    folder = model.save_pretrained(tmp_path / "m")
    (Path(folder) / "README.md").write_text("# card\n\n**Trained on:** PTB-XL folds 1-8 and simulated ECGs.\n")
    loaded = melp.load(folder)
    provenance = loaded.provenance
    assert provenance.name_or_path == str(folder) and provenance.trained_on == "PTB-XL folds 1-8 and simulated ECGs"
    assert provenance.fingerprint == model.provenance.fingerprint and len(provenance.fingerprint) == 16


def test_stored_provenance_names_a_folder_inside_the_working_directory_relatively(tmp_path, monkeypatch, model):
    """Result files committed beside a checkpoint must not carry the writer's machine path."""
    folder = Path(model.save_pretrained(tmp_path / "checkpoints" / "m"))
    loaded = melp.load(folder)
    assert loaded.provenance.to_dict()["name_or_path"] == str(folder)  # outside the working directory: as given
    monkeypatch.chdir(tmp_path)
    stored = loaded.provenance.to_dict()
    assert stored["name_or_path"] == "checkpoints/m" and stored["fingerprint"] == loaded.provenance.fingerprint
    assert loaded.provenance.name_or_path == str(folder)  # the live object keeps the folder it was loaded from


def test_result_files_record_the_model_that_made_them(tmp_path, model):
    folder = model.save_pretrained(tmp_path / "m")
    path = tmp_path / "rec.npy"
    np.save(path, spiky_record(0).signal)
    out = tmp_path / "scores.json"
    subprocess.run([sys.executable, "-m", "melp", "zeroshot", str(path), "--fs", "250", "--prompts", "sinus rhythm",
                    "--model", str(folder), "--out", str(out)], check=True, cwd=ROOT, capture_output=True, timeout=300)
    row = json.loads(out.read_text())[0]
    assert row["model_fingerprint"] == model.provenance.fingerprint and row["model"] == str(folder)


def test_loading_prints_nothing_at_the_default_log_level():
    code = "import melp; melp.load()"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and result.stdout == "" and result.stderr == ""


def _challenge_2020(folder: Path, gain: str = "1000/mV") -> Path:
    """A CinC 2020 header as distributed: the record line names its record with the .mat extension."""
    t = np.arange(2500) / 250
    ecg_like = 0.8 * np.sin(2 * np.pi * 1.2 * t)[None] * np.linspace(0.8, 1.2, 12)[:, None]  # about 0.8 mV
    digital = np.round(ecg_like * 1000).astype(np.int16)
    scipy.io.savemat(folder / "E00015.mat", {"val": digital})
    lines = [f"E00015.mat 12 250 {digital.shape[1]} 05-May-2020 14:50:55"]
    lines += [f"E00015.mat 16+24 {gain} 16 0 0 0 0 {lead}" for lead in STANDARD_LEADS]
    (folder / "E00015.hea").write_text("\n".join(lines) + "\n#Age: 61\n#Sex: Female\n#Dx: 426783006\n")
    return folder / "E00015.hea"


def test_challenge_2020_headers_that_name_the_record_with_its_extension_read(tmp_path):
    record = melp.read_ecg(_challenge_2020(tmp_path))
    assert record.record_id == "E00015" and record.age == 61 and record.labels


def test_a_gain_that_contradicts_the_amplitude_is_warned_with_the_measured_peak(tmp_path):
    with pytest.warns(EcgReadWarning, match=r"typical lead amplitude is [\d.]+ mV.*5x too large"):
        melp.read_ecg(_challenge_2020(tmp_path, gain="200/mV"))


def test_ludb_header_metadata_reaches_the_record(tmp_path):
    signal = spiky_record(0).signal
    wfdb.wrsamp("1", fs=250, units=["mV"] * 12, sig_name=[lead.lower() for lead in STANDARD_LEADS],
                p_signal=signal.T.astype(np.float64), fmt=["16"] * 12, write_dir=str(tmp_path),
                comments=["<age>: 51", "<sex>: F", "<diagnoses>:", "Rhythm: Sinus rhythm.",
                          "Electric axis of the heart: normal.", "Left atrial hypertrophy."])
    record = melp.read_ecg(tmp_path / "1")
    assert record.age == 51 and record.sex == "F"
    assert record.labels == ("Rhythm: Sinus rhythm", "Electric axis of the heart: normal", "Left atrial hypertrophy")


def test_per_lead_normalised_arrays_are_warned(tmp_path):
    signal = spiky_record(0).signal
    zscored = (signal - signal.mean(axis=1, keepdims=True)) / signal.std(axis=1, keepdims=True)
    np.save(tmp_path / "z.npy", zscored)
    with pytest.warns(EcgReadWarning, match="normalised per lead"):
        melp.read_ecg(tmp_path / "z.npy", fs=250)
    np.save(tmp_path / "raw.npy", signal)
    with warnings.catch_warnings():
        warnings.simplefilter("error", EcgReadWarning)
        melp.read_ecg(tmp_path / "raw.npy", fs=250)  # real amplitudes: no warning


def test_zero_padding_of_a_short_record_is_stated(model):
    short = spiky_record(0, seconds=1.2)
    steps = melp.preprocess(short, model.preprocess_config).steps
    assert any("zero-padded" in step and "flat line" in step for step in steps)
