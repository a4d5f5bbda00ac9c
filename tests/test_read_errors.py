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


def all_nan_lead(folder):
    signal = _signal()
    signal[3] = np.nan
    return _npy(folder, signal), {"fs": FS}, "only NaN"


def non_numeric_csv(folder):
    return _csv(folder, "I,II\n0.1,0.2\n0.3,abc\n"), {"fs": FS}, "holds 'abc'"


def csv_without_fs(folder):
    return _csv(folder, "I,II\n0.1,0.2\n0.3,0.4\n"), {}, "pass fs="


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
    return path, {"fs": FS}, "without pickles"


def nonexistent_path(folder):
    return folder / "nothing", {}, "no such file"


def lead_axis_unclear(folder):
    return _npy(folder, np.zeros((40, 40))), {"fs": FS}, "cannot tell the lead axis"


CASES = [
    missing_dat, truncated_dat, mismatched_challenge_mat, empty_csv, zero_length_npy, zero_fs,
    negative_fs_in_header, no_usable_lead, all_nan_lead, non_numeric_csv, csv_without_fs, unknown_extension,
    hdf5_file, record_longer_than_cap, npy_longer_than_cap, file_larger_than_cap, pickled_npy, nonexistent_path,
    lead_axis_unclear,
]


@pytest.mark.parametrize("make_case", CASES, ids=[case.__name__ for case in CASES])
def test_bad_input_raises_ecg_read_error_with_file_found_expected_and_fix(tmp_path, make_case):
    path, kwargs, fragment = make_case(tmp_path)
    with pytest.raises(EcgReadError) as caught:
        melp.read_ecg(path, **kwargs)
    message = str(caught.value)
    assert fragment in message
    assert path.name in message and "expected" in message
    assert isinstance(caught.value, ValueError)
