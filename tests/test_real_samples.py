"""Every real sample in ../shared/data/real-samples reads into 12 standard leads with readable labels."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import melp
from melp import STANDARD_LEADS
from melp.data.dx_codes import lookup_dx

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "data" / "real-samples"
CHALLENGE = sorted((SAMPLES / "cinc2021").rglob("*.hea")) if SAMPLES.exists() else []
CPSC_ORIGINAL = sorted((SAMPLES / "cpsc2018-original").glob("*.mat")) if SAMPLES.exists() else []
LIMB_IDENTITY_MV = 0.005  # I + III = II up to a few quanta of 1 uV

pytestmark = [
    pytest.mark.real_data,
    pytest.mark.skipif(not SAMPLES.exists(), reason=f"real samples absent at {SAMPLES}"),
]


def _ids(paths):
    return [f"{path.parent.name}/{path.stem}" for path in paths]


@pytest.mark.parametrize("path", CHALLENGE, ids=_ids(CHALLENGE))
def test_challenge_record_reads_with_readable_dx_names(path):
    record = melp.read_ecg(path)
    assert record.signal.shape[0] == 12 and record.leads == STANDARD_LEADS and record.lead_mask[:6].all()
    unrecorded = ~record.lead_mask  # some Chapman-Shaoxing files hold all-zero chest leads: masked, not read as 0 mV
    assert (record.signal[unrecorded] == 0).all() and np.isfinite(record.signal).all()
    assert record.fs in (500.0, 1000.0)
    assert record.signal.shape[1] >= record.fs * 5
    assert record.label_codes and len(record.labels) == len(record.label_codes)
    for code, name in zip(record.label_codes, record.labels):
        assert lookup_dx(code) is not None, f"{path}: code {code} has no readable name"
        assert name == lookup_dx(code).name and not name.isdigit()
    assert record.sex in ("M", "F", None)
    deviation = np.abs(record.lead("I") + record.lead("III") - record.lead("II"))
    assert deviation.max() < LIMB_IDENTITY_MV
    assert 0.05 < np.percentile(np.abs(record.signal), 99) < 20  # millivolts, not microvolts


@pytest.mark.parametrize("path", CPSC_ORIGINAL, ids=_ids(CPSC_ORIGINAL))
def test_original_cpsc2018_record_reads_at_500_hz(path):
    record = melp.read_ecg(path)
    assert record.signal.shape[0] == 12 and record.fs == 500.0 and record.leads == STANDARD_LEADS
    assert record.sex in ("M", "F") and record.age is not None and record.age > 0
    assert 0.05 < np.percentile(np.abs(record.signal), 99) < 20


@pytest.mark.parametrize("path", CHALLENGE[:: max(1, len(CHALLENGE) // 8)], ids=_ids(CHALLENGE[:: max(1, len(CHALLENGE) // 8)]))
def test_real_records_preprocess_to_model_input(path):
    result = melp.preprocess(melp.read_ecg(path))
    assert result.signal.shape == (12, 5000) and np.isfinite(result.signal).all()
    assert result.signal.min() >= 0 and result.signal.max() <= 1
