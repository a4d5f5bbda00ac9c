"""The preprocessing path: resampling, filtering, gaps, window, normalisation, row order, windows()."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import melp
from melp import MIMIC_LEADS, STANDARD_LEADS, EcgRecord
from melp.data.preprocess import PreprocessConfig, bandpass_sos, preprocess_batch, resample, windows

RAW = {"filter": "none", "normalisation": "none", "lead_order": "standard"}  # only resample/crop/pad


def sine_record(fs: float, seconds: float, freq: float = 5.0) -> EcgRecord:
    t = np.arange(int(round(fs * seconds))) / fs
    signal = np.outer(np.linspace(0.5, 1.6, 12), np.sin(2 * np.pi * freq * t))  # (12, T)
    return EcgRecord(signal=signal, fs=fs, record_id="sine")


@settings(max_examples=40, deadline=None)
@given(n=st.integers(50, 3000), fs_in=st.sampled_from([100, 125, 250, 257, 360, 500, 1000, 977.3]),
       fs_out=st.sampled_from([100, 250, 500]))
def test_resampled_length_is_rounded_ratio(n, fs_in, fs_out):
    out = resample(np.zeros((2, n)), fs_in, fs_out)
    assert out.shape == (2, int(round(n * fs_out / fs_in)))


@settings(max_examples=25, deadline=None)
@given(fs_in=st.sampled_from([250, 257, 360, 500, 1000]), fs_out=st.sampled_from([250, 500]),
       freq=st.floats(1.0, 20.0))
def test_resampling_preserves_energy_of_band_limited_sine(fs_in, fs_out, freq):
    seconds = 4.0
    t = np.arange(int(fs_in * seconds)) / fs_in
    out = resample(np.sin(2 * np.pi * freq * t)[None], fs_in, fs_out)[0]
    edge = int(0.5 * fs_out)  # compare away from the edges
    reference = np.sin(2 * np.pi * freq * np.arange(out.size) / fs_out)
    assert np.sum(out[edge:-edge] ** 2) == pytest.approx(np.sum(reference[edge:-edge] ** 2), rel=0.02)


def test_output_shape_dtype_and_mask_at_model_rate():
    result = melp.preprocess(sine_record(257, 10))
    assert result.signal.shape == (12, 5000) and result.signal.dtype == np.float32
    assert result.lead_mask.shape == (12,) and result.lead_mask.all()
    assert "resampled from 257 Hz to 500 Hz" in result.steps


def test_short_record_is_padded_and_says_how_much():
    result = melp.preprocess(sine_record(500, 7.9), **RAW)
    assert any("zero-padded" in step and "2.1 s of flat line" in step for step in result.steps)
    assert not result.signal[:, 3950:].any() and result.signal[:, :3950].any()


def test_long_record_is_cropped_to_first_window():
    record = sine_record(500, 25)
    result = melp.preprocess(record, **RAW)
    np.testing.assert_allclose(result.signal, record.signal[:, :5000])
    assert any(step.startswith("cropped 25.0 s to the first 10 s") for step in result.steps)


def test_minmax_record_matches_official_formula():
    record = sine_record(500, 10)
    plain = melp.preprocess(record, filter="none", normalisation="none").signal
    scaled = melp.preprocess(record, filter="none").signal
    expected = (plain - plain.min()) / (plain.max() - plain.min() + 1e-8)
    np.testing.assert_allclose(scaled, expected, atol=1e-6)
    assert scaled.min() == pytest.approx(0) and scaled.max() == pytest.approx(1, abs=1e-6)


def test_zscore_lead_gives_zero_mean_unit_spread_per_lead():
    result = melp.preprocess(sine_record(500, 10), normalisation="zscore_lead")
    np.testing.assert_allclose(result.signal.mean(axis=1), 0, atol=1e-4)
    np.testing.assert_allclose(result.signal.std(axis=1), 1, atol=1e-3)


def test_mimic_order_puts_avf_before_avl():
    record = EcgRecord(signal=np.arange(12.0)[:, None] * np.ones((1, 5000)), fs=500)
    mimic = melp.preprocess(record, filter="none", normalisation="none")
    standard = melp.preprocess(record, filter="none", normalisation="none", lead_order="standard")
    assert mimic.leads == MIMIC_LEADS and standard.leads == STANDARD_LEADS
    assert mimic.signal[:, 0].tolist() == [STANDARD_LEADS.index(name) for name in MIMIC_LEADS]


def test_bandpass_removes_baseline_wander_and_keeps_qrs_band():
    t = np.arange(5000) / 500
    wander, qrs_band = np.sin(2 * np.pi * 0.1 * t), np.sin(2 * np.pi * 10 * t)
    record = EcgRecord(signal=np.tile(wander + qrs_band, (12, 1)), fs=500)
    cleaned = melp.preprocess(record, normalisation="none").signal[0]
    np.testing.assert_allclose(cleaned[1500:-1500], qrs_band[1500:-1500], atol=0.05)  # edges settle within ~2 s


def test_neurokit_cleaning_option_runs_and_says_so():
    result = melp.preprocess(sine_record(500, 10), filter="neurokit")
    assert result.signal.shape == (12, 5000) and any("neurokit" in step for step in result.steps)


def test_short_nan_gap_is_interpolated_and_long_gap_masks_the_lead():
    record = sine_record(500, 10)
    signal = record.signal.copy()
    signal[0, 100:110] = np.nan  # 0.02 s
    signal[7, 1000:2000] = np.nan  # 2 s
    result = melp.preprocess(EcgRecord(signal=signal, fs=500), lead_order="standard")
    assert np.isfinite(result.signal).all()
    assert result.lead_mask[0] and not result.lead_mask[7]
    assert "lead V2 has a 2.00 s gap (masked)" in result.steps


def test_missing_lead_is_reported_in_steps_and_stays_masked():
    record = sine_record(500, 10)
    mask = np.ones(12, bool)
    mask[8] = False
    result = melp.preprocess(EcgRecord(signal=record.signal, fs=500, lead_mask=mask), lead_order="standard")
    assert "lead V3 missing (zero-filled)" in result.steps and not result.lead_mask[8]


def test_records_with_other_lead_orders_are_reordered_first():
    record = sine_record(500, 10)
    reversed_record = EcgRecord(signal=record.signal[::-1], fs=500, leads=STANDARD_LEADS[::-1])
    np.testing.assert_allclose(melp.preprocess(reversed_record).signal, melp.preprocess(record).signal, atol=1e-6)


def test_unknown_override_and_bad_choice_are_refused():
    with pytest.raises(TypeError):
        melp.preprocess(sine_record(500, 10), normalization="zscore_lead")
    with pytest.raises(ValueError, match="normalisation"):
        PreprocessConfig(normalisation="max")


def test_filter_coefficients_are_cached_per_rate_and_band():
    bandpass_sos.cache_clear()
    for _ in range(3):
        melp.preprocess(sine_record(500, 10))
    assert bandpass_sos.cache_info().hits >= 2 and bandpass_sos.cache_info().misses == 1


def test_batch_stacks_signals_and_masks():
    signals, masks, results = preprocess_batch([sine_record(500, 10), sine_record(250, 8)], PreprocessConfig())
    assert signals.shape == (2, 12, 5000) and masks.shape == (2, 12) and len(results) == 2


def test_windows_cover_long_records_with_start_suffixed_ids():
    record = sine_record(500, 30)
    chunks = list(windows(record, seconds=10))
    assert [chunk.record_id for chunk in chunks] == ["sine@0s", "sine@10s", "sine@20s"]
    assert all(chunk.n_samples == 5000 for chunk in chunks)
    assert len(list(windows(record, seconds=10, stride=5))) == 5
    assert len(list(windows(sine_record(500, 4), seconds=10))) == 1
