"""The corpus writer: MIMIC-IV-ECG layout, determinism across workers, regeneration, resumability."""
from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import wfdb

from melp.synth import STATEMENTS, simulate_record
from melp.synth.__main__ import main
from melp.synth.corpus import PARTS_DIR, _wfdb_bytes, record_path, write_corpus

N, FS, SECONDS = 12, 250, 4


def _digest(folder: Path) -> dict[str, str]:
    """sha256 of every corpus file except the resumability bookkeeping."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and PARTS_DIR not in p.parts}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("corpus")
    main(["--n", str(N), "--out", str(out), "--seed", "3", "--fs", str(FS), "--seconds", str(SECONDS),
          "--workers", "1", "--shard-size", "5"])
    return out


def test_corpus_has_mimic_layout_and_tables(corpus):
    with open(corpus / "record_list.csv", newline="") as handle:
        records = list(csv.DictReader(handle))
    assert len(records) == N
    first = records[0]
    subject, study = first["subject_id"], first["study_id"]
    assert first["path"] == f"files/p{subject[:4]}/p{subject}/s{study}/{study}"
    assert (corpus / (first["path"] + ".hea")).exists() and (corpus / (first["path"] + ".dat")).exists()
    with open(corpus / "machine_measurements.csv", newline="") as handle:
        measurements = list(csv.DictReader(handle))
    assert {"report_0", "report_17", "rr_interval", "qrs_axis", "p_onset", "t_end"} <= set(measurements[0])
    with open(corpus / "synth_labels.csv", newline="") as handle:
        labels = list(csv.DictReader(handle))
    assert list(labels[0]) == ["study_id", *STATEMENTS]
    manifest = json.loads((corpus / "synth_manifest.json").read_text())
    assert manifest["n"] == N and manifest["seed"] == 3 and manifest["statements"] == list(STATEMENTS)
    assert manifest["studies"][first["study_id"]] == 0


def test_corpus_record_equals_simulate_record(corpus):
    index = 7
    expected = simulate_record(3, index, fs=FS, seconds=SECONDS)
    stored = wfdb.rdrecord(str(corpus / record_path(index)))
    assert stored.sig_name == list(expected.record.leads) and stored.fs == FS
    assert np.abs(stored.p_signal.T - expected.record.signal).max() <= 0.0006  # 1 uV ADC steps
    with open(corpus / "machine_measurements.csv", newline="") as handle:
        row = list(csv.DictReader(handle))[index]
    sentences = [row[f"report_{k}"] for k in range(18) if row[f"report_{k}"]]
    assert ". ".join(sentences) + "." == expected.record.report
    with open(corpus / "synth_labels.csv", newline="") as handle:
        label_row = list(csv.DictReader(handle))[index]
    assert [int(label_row[s]) for s in STATEMENTS] == expected.labels.astype(int).tolist()


def test_same_seed_gives_same_bytes_regardless_of_workers(corpus, tmp_path):
    write_corpus(tmp_path, n=N, seed=3, fs=FS, seconds=SECONDS, workers=2, shard_size=5)
    assert _digest(tmp_path) == _digest(corpus)


def test_rerun_resumes_and_skips_finished_records(corpus, tmp_path):
    write_corpus(tmp_path, n=N, seed=3, fs=FS, seconds=SECONDS, workers=1, shard_size=5)
    finished = tmp_path / (record_path(0) + ".dat")
    finished_mtime = finished.stat().st_mtime_ns
    lost_part = sorted((tmp_path / PARTS_DIR).glob("part-*.json"))[-1]
    lost_part.unlink()  # as if interrupted during the last shard
    (tmp_path / (record_path(N - 1) + ".dat")).unlink()
    write_corpus(tmp_path, n=N, seed=3, fs=FS, seconds=SECONDS, workers=1, shard_size=5)
    assert finished.stat().st_mtime_ns == finished_mtime
    assert _digest(tmp_path) == _digest(corpus)


def test_resume_with_other_settings_is_refused(tmp_path):
    write_corpus(tmp_path, n=2, seed=0, fs=FS, seconds=2, workers=1)
    with pytest.raises(ValueError, match="use a new --out folder"):
        write_corpus(tmp_path, n=2, seed=1, fs=FS, seconds=2, workers=1)


@pytest.mark.parametrize("fs", [500, 257.5])
def test_record_files_are_byte_identical_to_wfdb_wrsamp(tmp_path, fs):
    ecg = simulate_record(0, 4, fs=fs, seconds=3)
    header, data = _wfdb_bytes("40000004", ecg.record.signal, ecg.record.fs, ecg.record.leads)
    signal = np.clip(ecg.record.signal.T.astype(np.float64), -32.767, 32.767)
    wfdb.wrsamp("40000004", fs=ecg.record.fs, units=["mV"] * 12, sig_name=list(ecg.record.leads), p_signal=signal,
                fmt=["16"] * 12, adc_gain=[1000.0] * 12, baseline=[0] * 12, write_dir=str(tmp_path))
    assert (tmp_path / "40000004.hea").read_bytes() == header
    assert (tmp_path / "40000004.dat").read_bytes() == data
