"""Property: whatever a file holds, read_ecg returns a finite, plausible record or raises EcgReadError.

Hypothesis mutates valid WFDB headers and signal files, challenge .hea/.mat pairs, CSV text and NumPy
files (tokens replaced by odd numbers and words, lines dropped or repeated, bytes cut or flipped).
"""
from __future__ import annotations

import itertools
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import wfdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import melp
from melp import STANDARD_LEADS, EcgReadError
from melp.data.raw import DEFAULT_FS_RANGE

FS = 500
EXAMPLES = 60
ODD_TOKENS = ["0", "-1", "1e12", "nan", "inf", "-inf", "abc", "", "1000(0)/mV", "0/mV", "x/uV", "12", "500",
              "../x.dat", "/etc/passwd", "é.dat", "16", "212", "999", "2.5", "1e-9"]
_counter = itertools.count()

settings.register_profile("melp-readers", max_examples=EXAMPLES, deadline=None,
                          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
settings.load_profile("melp-readers")


def _signal(seconds: float = 1.0) -> np.ndarray:
    t = np.arange(int(FS * seconds)) / FS
    return np.sin(2 * np.pi * np.outer(np.arange(1, 13), t) / 7)  # (12, T) mV


def _assert_record_or_read_error(path: Path, **kwargs) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            record = melp.read_ecg(path, **kwargs)
        except EcgReadError:
            return
    assert np.isfinite(record.signal).all(), f"{path.name}: returned a signal with NaN or inf"
    assert DEFAULT_FS_RANGE[0] <= record.fs <= DEFAULT_FS_RANGE[1]
    assert record.signal.shape[0] == len(STANDARD_LEADS) and record.lead_mask.any()


def _fresh(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp(f"fuzz{next(_counter)}")


def _mutate_lines(text: str, data) -> str:
    lines = text.splitlines()
    for _ in range(data.draw(st.integers(1, 4))):
        row = data.draw(st.integers(0, len(lines) - 1))
        action = data.draw(st.sampled_from(["token", "drop", "repeat"]))
        if action == "token":
            tokens = lines[row].split() or [""]
            tokens[data.draw(st.integers(0, len(tokens) - 1))] = data.draw(st.sampled_from(ODD_TOKENS))
            lines[row] = " ".join(tokens)
        elif action == "drop" and len(lines) > 1:
            lines.pop(row)
        else:
            lines.insert(row, lines[row])
    return "\n".join(lines) + "\n"


def _mutate_bytes(blob: bytes, data) -> bytes:
    action = data.draw(st.sampled_from(["cut", "flip", "keep"]))
    if action == "cut":
        return blob[:data.draw(st.integers(0, len(blob)))]
    if action == "flip" and blob:
        position = data.draw(st.integers(0, len(blob) - 1))
        return blob[:position] + bytes([blob[position] ^ data.draw(st.integers(1, 255))]) + blob[position + 1:]
    return blob


@given(data=st.data())
def test_mutated_wfdb_records(tmp_path_factory, data):
    folder = _fresh(tmp_path_factory)
    wfdb.wrsamp("rec", fs=FS, units=["mV"] * 12, sig_name=list(STANDARD_LEADS), p_signal=_signal().T,
                fmt=["16"] * 12, adc_gain=[1000.0] * 12, baseline=[0] * 12, write_dir=str(folder))
    header, dat = folder / "rec.hea", folder / "rec.dat"
    header.write_text(_mutate_lines(header.read_text(), data))
    dat.write_bytes(_mutate_bytes(dat.read_bytes(), data))
    _assert_record_or_read_error(header)


@given(data=st.data())
def test_mutated_challenge_records(tmp_path_factory, data):
    folder = _fresh(tmp_path_factory)
    digital = np.round(_signal() * 1000).astype(np.int16)
    scipy.io.savemat(folder / "A1.mat", {"val": digital})
    lines = [f"A1 12 {FS} {digital.shape[1]}"] + [f"A1.mat 16+24 1000/mV 16 0 0 0 0 {lead}" for lead in STANDARD_LEADS]
    header = folder / "A1.hea"
    header.write_text(_mutate_lines("\n".join(lines) + "\n#Dx: 164889003\n#Age: 50", data))
    mat = folder / "A1.mat"
    mat.write_bytes(_mutate_bytes(mat.read_bytes(), data))
    _assert_record_or_read_error(header)


CELLS = st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr), st.sampled_from(["", "abc", "1e400"]))


@given(header=st.lists(st.sampled_from([*STANDARD_LEADS, "time", "x", ""]), min_size=1, max_size=13),
       rows=st.lists(st.lists(CELLS, min_size=0, max_size=14), min_size=0, max_size=40),
       fs=st.sampled_from([None, 500.0, 1e7, 0.0]))
def test_random_csv_text(tmp_path_factory, header, rows, fs):
    path = _fresh(tmp_path_factory) / "x.csv"
    path.write_text("\n".join([",".join(header), *(",".join(row) for row in rows)]) + "\n")
    _assert_record_or_read_error(path, fs=fs)


ARRAYS = st.one_of(
    st.builds(lambda shape, fill: np.full(shape, fill), st.tuples(st.integers(0, 14), st.integers(0, 600)),
              st.sampled_from([0.0, 1.0, np.nan, np.inf])),
    st.builds(lambda seed, shape: np.random.default_rng(seed).standard_normal(shape),
              st.integers(0, 1000), st.sampled_from([(12, 600), (600, 12), (3, 600), (12,), (2, 12, 600)])),
)


@given(array=ARRAYS, spikes=st.integers(0, 50), value=st.sampled_from([np.inf, -np.inf, np.nan, 1e30]),
       kind=st.sampled_from(["npy", "npz"]), data=st.data())
def test_random_numpy_files(tmp_path_factory, array, spikes, value, kind, data):
    folder = _fresh(tmp_path_factory)
    array = np.array(array, dtype=np.float64)
    if array.size and spikes:
        flat = array.reshape(-1)
        flat[np.random.default_rng(spikes).integers(0, flat.size, spikes)] = value
    path = folder / f"x.{kind}"
    if kind == "npy":
        np.save(path, array)
    else:
        np.savez(path, signal=array, fs=data.draw(st.sampled_from([500.0, 0.0, np.nan, 1e9])))
    path.write_bytes(_mutate_bytes(path.read_bytes(), data))
    _assert_record_or_read_error(path, fs=500.0 if kind == "npy" else None)


def test_a_mat_file_whose_data_type_code_is_corrupted_is_refused_not_a_crash(tmp_path):
    """One flipped byte in the type code of the signal's data element made scipy's compiled reader crash
    the process (segmentation fault, found by the property test above). Run in a child process so that a
    regression fails this test instead of killing the test run."""
    import subprocess
    import sys

    digital = np.round(_signal() * 1000).astype(np.int16)
    scipy.io.savemat(tmp_path / "A1.mat", {"val": digital})
    blob = bytearray((tmp_path / "A1.mat").read_bytes())
    blob[176] ^= 3  # miINT16 (3) -> 0, the type code of the 'val' data element
    (tmp_path / "A1.mat").write_bytes(bytes(blob))
    lines = [f"A1 12 {FS} {digital.shape[1]}"] + [f"A1.mat 16+24 1000/mV 16 0 0 0 0 {lead}" for lead in STANDARD_LEADS]
    (tmp_path / "A1.hea").write_text("\n".join(lines) + "\n")
    code = ("import sys, melp\ntry:\n    melp.read_ecg(sys.argv[1])\nexcept melp.EcgReadError as error:\n"
            "    print('refused:', error)\n")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "A1.hea")], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, f"the reader crashed (return code {done.returncode}): {done.stderr[-500:]}"
    assert "refused:" in done.stdout and "unknown data type 0" in done.stdout
