"""Round trips: fixtures written here in every supported format, read back with melp.read_ecg."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import wfdb

import melp
from melp import STANDARD_LEADS
from melp.record import EcgReadWarning

FS = 500
SECONDS = 4
QUANTUM_MV = 1e-3  # 1000 ADC units per mV: round trips agree to one quantum


def synthetic_ecg(n_leads: int = 12, fs: int = FS, seconds: float = SECONDS, seed: int = 0) -> np.ndarray:
    """(C, T) mV: a distinct sine per lead plus a little noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(fs * seconds)) / fs  # (T,)
    amplitudes = np.linspace(0.3, 1.5, n_leads)[:, None]  # (C, 1)
    return amplitudes * np.sin(2 * np.pi * 1.3 * t + np.arange(n_leads)[:, None]) + 0.01 * rng.standard_normal((n_leads, t.size))


def write_wfdb(folder: Path, name: str, signal_mv: np.ndarray, leads=STANDARD_LEADS, fmt="16", units="mV") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    scale = 1000.0 if units == "uV" else 1.0
    wfdb.wrsamp(
        name, fs=FS, units=[units] * len(leads), sig_name=list(leads), p_signal=signal_mv.T * scale,
        fmt=[fmt] * len(leads), adc_gain=[1000.0 / scale] * len(leads), baseline=[0] * len(leads), write_dir=str(folder),
    )
    return folder / name


def write_challenge(folder: Path, name: str, signal_mv: np.ndarray, comments: str) -> Path:
    """The PhysioNet/CinC 2020/2021 layout: int16 'val' (C, T) in a .mat, gains and Dx in the .hea."""
    digital = np.round(signal_mv * 1000).astype(np.int16)  # (C, T), 1000/mV
    scipy.io.savemat(folder / f"{name}.mat", {"val": digital})
    lines = [f"{name} {digital.shape[0]} {FS} {digital.shape[1]}"]
    lines += [f"{name}.mat 16+24 1000/mV 16 0 {row[0]} 0 0 {lead}" for row, lead in zip(digital, STANDARD_LEADS)]
    (folder / f"{name}.hea").write_text("\n".join(lines) + "\n" + comments)
    return folder / f"{name}.hea"


@pytest.mark.parametrize("fmt", ["16", "212"])
@pytest.mark.parametrize("units", ["mV", "uV"])
def test_wfdb_round_trip_returns_millivolts_in_standard_order(tmp_path, fmt, units):
    signal = synthetic_ecg()
    base = write_wfdb(tmp_path, "rec", signal, fmt=fmt, units=units)
    for path in (base, base.with_suffix(".hea")):
        record = melp.read_ecg(path)
        assert record.leads == STANDARD_LEADS and record.fs == FS and record.signal.dtype == np.float32
        np.testing.assert_allclose(record.signal, signal, atol=QUANTUM_MV)
        assert record.lead_mask.all() and record.source == str(path)


@pytest.mark.parametrize("relative", ["records500/00000/00001_hr", "files/p1000/p10000032/s40689238/40689238"])
def test_ptbxl_and_mimic_layouts_read_as_plain_wfdb(tmp_path, relative):
    path = tmp_path / relative
    write_wfdb(path.parent, path.name, synthetic_ecg())
    record = melp.read_ecg(path)
    assert record.record_id == path.name and record.signal.shape == (12, FS * SECONDS)


def test_wfdb_with_scrambled_odd_lead_names_is_reordered(tmp_path):
    signal = synthetic_ecg()
    order = [6, 0, 11, 3, 1, 2, 5, 4, 7, 8, 9, 10]
    odd = {"I": "i", "II": "MLII", "aVR": "AVR", "aVL": "avl", "aVF": "aVf"}
    names = [odd.get(STANDARD_LEADS[i], STANDARD_LEADS[i]) for i in order]
    base = write_wfdb(tmp_path, "odd", signal[order], leads=names)
    np.testing.assert_allclose(melp.read_ecg(base).signal, signal, atol=QUANTUM_MV)


def test_challenge_mat_reads_signal_dx_names_codes_age_and_sex(tmp_path):
    signal = synthetic_ecg()
    hea = write_challenge(tmp_path, "A0001", signal, "#Age: 63\n#Sex: Female\n#Dx: 164889003,59118001\n#Rx: Unknown\n")
    for path in (hea, hea.with_suffix(".mat"), hea.with_suffix("")):
        record = melp.read_ecg(path)
        np.testing.assert_allclose(record.signal, signal, atol=QUANTUM_MV)
        assert record.labels == ("atrial fibrillation", "right bundle branch block")
        assert record.label_codes == ("164889003", "59118001")
        assert (record.age, record.sex, record.fs) == (63.0, "F", FS)


def test_original_cpsc2018_struct_reads_at_500_hz(tmp_path):
    signal = synthetic_ecg()
    scipy.io.savemat(tmp_path / "A1234.mat", {"ECG": {"sex": "Male", "age": 71, "data": signal}})
    record = melp.read_ecg(tmp_path / "A1234.mat")
    np.testing.assert_allclose(record.signal, signal, atol=1e-6)
    assert (record.fs, record.age, record.sex, record.record_id) == (500.0, 71.0, "M", "A1234")


@pytest.mark.parametrize("time_column,scale", [("time", 1.0), ("time_ms", 1000.0)])
def test_csv_time_column_gives_the_sampling_rate(tmp_path, time_column, scale):
    signal = synthetic_ecg(fs=250)
    t = np.arange(signal.shape[1]) / 250 * scale
    table = np.column_stack([t, signal.T])
    path = tmp_path / "ecg.csv"
    np.savetxt(path, table, delimiter=",", header=",".join([time_column, *STANDARD_LEADS]), comments="")
    record = melp.read_ecg(path)
    assert record.fs == pytest.approx(250.0)
    np.testing.assert_allclose(record.signal, signal, atol=1e-6)


def test_csv_without_time_column_uses_the_given_fs(tmp_path):
    signal = synthetic_ecg()
    path = tmp_path / "ecg.csv"
    np.savetxt(path, signal.T, delimiter=",", header=",".join(STANDARD_LEADS), comments="")
    record = melp.read_ecg(path, fs=FS)
    assert record.fs == FS
    np.testing.assert_allclose(record.signal, signal, atol=1e-6)


def test_csv_without_header_takes_lead_names_from_the_leads_argument(tmp_path):
    signal = synthetic_ecg()
    path = tmp_path / "bare.csv"
    np.savetxt(path, signal[::-1].T, delimiter=",")
    record = melp.read_ecg(path, fs=FS, leads=STANDARD_LEADS[::-1])
    np.testing.assert_allclose(record.signal, signal, atol=1e-6)


def test_csv_in_microvolts_is_scaled_with_units_argument(tmp_path):
    signal = synthetic_ecg()
    path = tmp_path / "uv.csv"
    np.savetxt(path, signal.T * 1000, delimiter=",", header=",".join(STANDARD_LEADS), comments="")
    with warnings.catch_warnings():
        warnings.simplefilter("error", EcgReadWarning)
        record = melp.read_ecg(path, fs=FS, units="uV")
    np.testing.assert_allclose(record.signal, signal, atol=1e-5)


def test_microvolts_read_as_millivolts_warn(tmp_path):
    path = tmp_path / "uv.npy"
    np.save(path, synthetic_ecg() * 1000)
    with pytest.warns(EcgReadWarning, match="units='uV'"):
        melp.read_ecg(path, fs=FS)


@pytest.mark.parametrize("transpose", [False, True])
def test_npy_either_orientation_reads_as_leads_by_samples(tmp_path, transpose):
    signal = synthetic_ecg()
    np.save(tmp_path / "x.npy", signal.T if transpose else signal)
    record = melp.read_ecg(tmp_path / "x.npy", fs=FS)
    np.testing.assert_allclose(record.signal, signal, atol=1e-6)


def test_npz_carries_fs_and_lead_names(tmp_path):
    signal = synthetic_ecg()
    order = list(range(12))[::-1]
    np.savez(tmp_path / "x.npz", signal=signal[order].T, fs=np.float64(FS), leads=np.array(STANDARD_LEADS)[order])
    record = melp.read_ecg(tmp_path / "x.npz")
    assert record.fs == FS
    np.testing.assert_allclose(record.signal, signal, atol=1e-6)


def test_eight_lead_device_gets_derived_limb_leads(tmp_path):
    signal = synthetic_ecg()
    eight = ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")
    rows = [STANDARD_LEADS.index(name) for name in eight]
    base = write_wfdb(tmp_path, "eight", signal[rows], leads=eight)
    with warnings.catch_warnings():
        warnings.simplefilter("error", EcgReadWarning)  # derived leads are not "missing"
        record = melp.read_ecg(base)
    lead_i, lead_ii = record.lead("I"), record.lead("II")
    np.testing.assert_allclose(record.lead("III"), lead_ii - lead_i, atol=1e-6)
    np.testing.assert_allclose(record.lead("aVR"), -(lead_i + lead_ii) / 2, atol=1e-6)
    np.testing.assert_allclose(record.lead("I") + record.lead("III"), lead_ii, atol=1e-6)
    assert record.lead_mask.all()


def test_missing_chest_leads_are_zero_filled_masked_and_warned(tmp_path):
    signal = synthetic_ecg()
    limb = STANDARD_LEADS[:6]
    np.save(tmp_path / "limb.npy", signal[:6])
    with pytest.warns(EcgReadWarning, match="V1"):
        record = melp.read_ecg(tmp_path / "limb.npy", fs=FS, leads=limb)
    assert record.lead_mask.tolist() == [True] * 6 + [False] * 6
    assert not record.signal[6:].any()
    np.testing.assert_allclose(record.signal[:6], signal[:6], atol=1e-6)


def test_fs_argument_overrides_the_header(tmp_path):
    base = write_wfdb(tmp_path, "rec", synthetic_ecg())
    assert melp.read_ecg(base, fs=250).fs == 250
