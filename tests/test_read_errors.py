"""Every bad input raises melp.EcgReadError naming the file, what was found, what was expected and a fix."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.io
import wfdb

import melp
from melp import STANDARD_LEADS, EcgReadError

FS = 500


def _signal(seconds: float = 2.0) -> np.ndarray:
    t = np.arange(int(FS * seconds)) / FS
    return np.sin(2 * np.pi * np.outer(np.arange(1, 13), t) / 7)  # (12, T) mV


def _wfdb(folder: Path) -> Path:
    wfdb.wrsamp("rec", fs=FS, units=["mV"] * 12, sig_name=list(STANDARD_LEADS), p_signal=_signal().T,
                fmt=["16"] * 12, adc_gain=[1000.0] * 12, baseline=[0] * 12, write_dir=str(folder))
    return folder / "rec"


def _csv(folder: Path, text: str) -> Path:
    (folder / "x.csv").write_text(text)
    return folder / "x.csv"


def _npy(folder: Path, array: np.ndarray, **save) -> Path:
    np.save(folder / "x.npy", array, **save)
    return folder / "x.npy"


def missing_dat(folder):
    base = _wfdb(folder)
    base.with_suffix(".dat").unlink()
    return base, {}, "not found next to the header"


def truncated_dat(folder):
    base = _wfdb(folder)
    dat = base.with_suffix(".dat")
    dat.write_bytes(dat.read_bytes()[:1000])
    return base, {}, "truncated"


def mismatched_challenge_mat(folder):
    scipy.io.savemat(folder / "A1.mat", {"val": np.zeros((12, 100), np.int16)})
    lines = ["A1 12 500 5000"] + [f"A1.mat 16+24 1000/mV 16 0 0 0 0 {lead}" for lead in STANDARD_LEADS]
    (folder / "A1.hea").write_text("\n".join(lines) + "\n#Dx: 164889003\n")
    return folder / "A1.hea", {}, "do not belong together"


def empty_csv(folder):
    return _csv(folder, ",".join(STANDARD_LEADS) + "\n"), {"fs": FS}, "no data rows"


def zero_length_npy(folder):
    return _npy(folder, np.zeros((12, 0))), {"fs": FS}, "at least one sample"


def zero_fs(folder):
    return _npy(folder, _signal()), {"fs": 0}, "expected a number > 0"


def negative_fs_in_header(folder):
    base = _wfdb(folder)
    hea = base.with_suffix(".hea")
    hea.write_text(hea.read_text().replace("rec 12 500", "rec 12 -500", 1))
    return base, {}, "expected a number > 0"


def no_usable_lead(folder):
    return _csv(folder, "foo,bar\n1,2\n3,4\n"), {"fs": FS}, "no usable lead"


def all_nan_record(folder):
    return _npy(folder, np.full((12, 1000), np.nan)), {"fs": FS}, "no sample of any lead is a finite number"


def non_numeric_csv(folder):
    return _csv(folder, "I,II\n0.1,0.2\n0.3,abc\n"), {"fs": FS}, "holds 'abc'"


def csv_without_fs(folder):
    return _csv(folder, "I,II\n0.1,0.2\n0.3,0.4\n"), {}, "give the sampling rate in Hz"


def unknown_extension(folder):
    (folder / "x.txt").write_text("1,2,3")
    return folder / "x.txt", {}, "unknown file type"


def hdf5_file(folder):
    (folder / "x.h5").write_bytes(b"\x89HDF\r\n\x1a\n")
    return folder / "x.h5", {}, "HDF5 files are not supported"


def record_longer_than_cap(folder):
    return _wfdb(folder), {"max_seconds": 1.0}, "max_seconds=1"


def npy_longer_than_cap(folder):
    return _npy(folder, _signal()), {"fs": FS, "max_seconds": 1.0}, "max_seconds=1"


def file_larger_than_cap(folder):
    return _npy(folder, _signal()), {"fs": FS, "max_bytes": 1000}, "max_bytes=1000"


def pickled_npy(folder):
    """An object-dtype .npy, as np.save writes Python objects: its header alone asks for unpickling."""
    path = folder / "x.npy"
    with open(path, "wb") as handle:
        np.lib.format.write_array_header_1_0(handle, {"descr": "|O", "fortran_order": False, "shape": (1,)})
        handle.write(b"\x80\x04N.")  # a pickle stream of None; the reader must refuse before reading it
    return path, {"fs": FS}, "refused without unpickling"


def nonexistent_path(folder):
    return folder / "nothing", {}, "no such file"


def lead_axis_unclear(folder):
    return _npy(folder, np.zeros((40, 40))), {"fs": FS}, "cannot tell the lead axis"


def _header(folder: Path, record_line: str, signal_lines: list[str], name: str = "rec") -> Path:
    (folder / f"{name}.hea").write_text("\n".join([record_line, *signal_lines]) + "\n")
    return folder / f"{name}.hea"


def _twelve_lines(name: str = "rec", gain: str = "1000/mV") -> list[str]:
    return [f"{name}.dat 16 {gain} 16 0 0 0 0 {lead}" for lead in STANDARD_LEADS]


def empty_mat_alone(folder):
    (folder / "x.mat").write_bytes(b"")
    return folder / "x.mat", {}, "not a readable MATLAB file"


def empty_mat_with_header(folder):
    (folder / "A2.mat").write_bytes(b"")
    lines = [f"A2.mat 16+24 1000/mV 16 0 0 0 0 {lead}" for lead in STANDARD_LEADS]
    _header(folder, "A2 12 500 5000", lines, "A2")
    return folder / "A2.mat", {}, "not a readable MATLAB file"


def challenge_mat_holding_text(folder):
    scipy.io.savemat(folder / "A3.mat", {"val": np.array(["abc"] * 12)})
    lines = [f"A3.mat 16+24 1000/mV 16 0 0 0 0 {lead}" for lead in STANDARD_LEADS]
    _header(folder, "A3 12 500 3", lines, "A3")
    return folder / "A3.mat", {}, "expected numbers"


def npz_object_array(folder):
    np.savez(folder / "x.npz", signal=np.array([_signal(), "text"], dtype=object))
    return folder / "x.npz", {"fs": FS}, "refused without unpickling"


def npz_fs_as_text(folder):
    np.savez(folder / "x.npz", signal=_signal(), fs="fivehundred")
    return folder / "x.npz", {}, "expected plain numbers"


def npz_fs_with_several_values(folder):
    np.savez(folder / "x.npz", signal=_signal(), fs=np.array([500.0, 250.0]))
    return folder / "x.npz", {}, "expected one sampling rate"


def npz_leads_as_one_string(folder):
    np.savez(folder / "x.npz", signal=_signal(), fs=500.0, leads="I")
    return folder / "x.npz", {}, "expected a list of lead names"


def npy_declaring_a_huge_shape(folder):
    path = folder / "x.npy"
    with open(path, "wb") as handle:
        np.lib.format.write_array_header_1_0(handle, {"descr": "<f8", "fortran_order": False, "shape": (12, 10**12)})
        handle.write(np.zeros(64).tobytes())
    return path, {"fs": FS}, "declares shape (12, 1000000000000)"


def npz_declaring_a_huge_shape(folder):
    buffer = __import__("io").BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": "<f8", "fortran_order": False, "shape": (12, 10**12)})
    with __import__("zipfile").ZipFile(folder / "x.npz", "w") as archive:
        archive.writestr("signal.npy", buffer.getvalue() + np.zeros(64).tobytes())
    return folder / "x.npz", {"fs": FS}, "declares shape (12, 1000000000000)"


def folder_named_like_a_file(folder):
    (folder / "x.csv").mkdir()
    return folder / "x.csv", {}, "is a folder"


def absurd_sampling_rate(folder):
    return _npy(folder, _signal()), {"fs": 1e7}, "expected 50-10000 Hz"


def absurd_sampling_rate_in_header(folder):
    base = _wfdb(folder)
    hea = base.with_suffix(".hea")
    hea.write_text(hea.read_text().replace("rec 12 500", "rec 12 10000000", 1))
    return base, {}, "expected 50-10000 Hz"


def zero_adc_gain(folder):
    base = _wfdb(folder)
    return _header(folder, "rec 12 500 1000", _twelve_lines(gain="0/mV")), {}, "ADC gain '0/mV'"


def non_numeric_adc_gain(folder):
    base = _wfdb(folder)
    return _header(folder, "rec 12 500 1000", _twelve_lines(gain="high/mV")), {}, "ADC gain 'high/mV'"


def all_zero_record(folder):
    return _npy(folder, np.zeros((12, 2000))), {"fs": FS}, "every lead is flat"


def ragged_csv_row(folder):
    rows = ["1,2,3,4,5,6,7,8,9,10,11,12"] * 5 + ["1,2,3,4,5,6,7"] + ["1,2,3,4,5,6,7,8,9,10,11,12"] * 5
    return _csv(folder, ",".join(STANDARD_LEADS) + "\n" + "\n".join(rows) + "\n"), {"fs": FS}, "line 7 has 7 of 12"


def signal_count_disagrees_with_lines(folder):
    _wfdb(folder)
    return _header(folder, "rec 12 500 1000", _twelve_lines()[:7]), {}, "lists 7 signal lines"


def non_ascii_record_name(folder):
    return _header(folder, "récord 12 500 1000", _twelve_lines("récord"), "récord"), {}, "not plain ASCII"


def header_naming_an_absolute_path(folder):
    lines = [f"/etc/passwd 16 1000/mV 16 0 0 0 0 {lead}" for lead in STANDARD_LEADS]
    return _header(folder, "rec 12 500 1000", lines), {}, "points outside the header's own folder"


def header_naming_a_parent_folder(folder):
    lines = [f"../secret.dat 16 1000/mV 16 0 0 0 0 {lead}" for lead in STANDARD_LEADS]
    return _header(folder, "rec 12 500 1000", lines), {}, "points outside the header's own folder"


CASES = [
    missing_dat, truncated_dat, mismatched_challenge_mat, empty_csv, zero_length_npy, zero_fs,
    negative_fs_in_header, no_usable_lead, all_nan_record, non_numeric_csv, csv_without_fs, unknown_extension,
    hdf5_file, record_longer_than_cap, npy_longer_than_cap, file_larger_than_cap, pickled_npy, nonexistent_path,
    lead_axis_unclear, empty_mat_alone, empty_mat_with_header, challenge_mat_holding_text, npz_object_array,
    npz_fs_as_text, npz_fs_with_several_values, npz_leads_as_one_string, npy_declaring_a_huge_shape,
    npz_declaring_a_huge_shape, folder_named_like_a_file, absurd_sampling_rate, absurd_sampling_rate_in_header,
    zero_adc_gain, non_numeric_adc_gain, all_zero_record, ragged_csv_row, signal_count_disagrees_with_lines,
    non_ascii_record_name, header_naming_an_absolute_path, header_naming_a_parent_folder,
]


@pytest.mark.parametrize("make_case", CASES, ids=[case.__name__ for case in CASES])
def test_bad_input_raises_ecg_read_error_with_file_found_expected_and_fix(tmp_path, make_case):
    path, kwargs, fragment = make_case(tmp_path)
    with pytest.raises(EcgReadError) as caught:
        melp.read_ecg(path, **kwargs)
    message = str(caught.value)
    assert fragment in message
    assert path.name in message and "expected" in message
    assert str(tmp_path) not in message  # the file's name, never where it sits on the machine
    assert isinstance(caught.value, ValueError)


def test_a_header_naming_a_server_file_reveals_nothing_about_it(tmp_path):
    lines = [f"/etc/passwd 16 1000/mV 16 0 0 0 0 {lead}" for lead in STANDARD_LEADS]
    with pytest.raises(EcgReadError) as caught:
        melp.read_ecg(_header(tmp_path, "rec 12 500 1000", lines))
    assert "bytes" not in str(caught.value) and "not found" not in str(caught.value)


def _with_values(folder: Path, rows: list[int], start: int, stop: int, value: float) -> Path:
    signal = _signal(4.0)
    signal[rows, start:stop] = value
    return _npy(folder, signal)


@pytest.mark.parametrize("value", [np.inf, -np.inf, np.nan])
def test_a_few_non_finite_samples_are_interpolated_and_reported(tmp_path, value, caplog):
    record = melp.read_ecg(_with_values(tmp_path, [2], 100, 120, value), fs=FS)  # 40 ms
    assert np.isfinite(record.signal).all() and record.lead_mask.all()
    assert "interpolated" in caplog.text


def test_a_long_non_finite_run_masks_its_lead(tmp_path):
    record = melp.read_ecg(_with_values(tmp_path, [7], 0, 1000, np.inf), fs=FS)  # 2 s of V2
    assert np.isfinite(record.signal).all()
    assert not record.lead_mask[STANDARD_LEADS.index("V2")] and record.lead_mask.sum() == 11


def test_a_flat_lead_is_flagged_and_masked(tmp_path, caplog):
    record = melp.read_ecg(_with_values(tmp_path, [9], 0, 2000, 0.0), fs=FS)
    assert not record.lead_mask[STANDARD_LEADS.index("V4")] and "flat" in caplog.text
