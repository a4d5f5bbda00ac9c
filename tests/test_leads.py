"""Lead names, reordering, derivation of limb leads from I and II, zero-fill and mask."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from melp import STANDARD_LEADS, EcgReadError
from melp.data.leads import canonical_lead, derive_limb_leads, to_standard_leads
from melp.record import EcgReadWarning

finite = st.floats(-10, 10, allow_nan=False, width=32)


@pytest.mark.parametrize(
    "spelling,canonical",
    [("i", "I"), ("II", "II"), ("MLII", "II"), ("lead III", "III"), ("AVR", "aVR"), ("aVr", "aVR"),
     ("avl", "aVL"), ("aVF", "aVF"), ("v1", "V1"), ("V6", "V6"), ("C3", "V3"), ("D2", "II"), ("Lead_V4", "V4")],
)
def test_common_spellings_map_to_canonical_names(spelling, canonical):
    assert canonical_lead(spelling) == canonical


@pytest.mark.parametrize("name", ["time", "resp", "V7", "pleth", ""])
def test_non_ecg_channels_are_not_leads(name):
    assert canonical_lead(name) is None


@settings(max_examples=50, deadline=None)
@given(lead_i=arrays(np.float64, 64, elements=finite), lead_ii=arrays(np.float64, 64, elements=finite))
def test_derived_limb_leads_satisfy_einthoven_and_goldberger(lead_i, lead_ii):
    derived = derive_limb_leads(lead_i, lead_ii)
    np.testing.assert_allclose(derived["III"], lead_ii - lead_i)
    np.testing.assert_allclose(derived["aVR"], -(lead_i + lead_ii) / 2)
    np.testing.assert_allclose(derived["aVL"], lead_i - lead_ii / 2)
    np.testing.assert_allclose(derived["aVF"], lead_ii - lead_i / 2)
    np.testing.assert_allclose(lead_i + derived["III"], lead_ii, atol=1e-9)
    # Goldberger: the augmented leads sum to zero
    np.testing.assert_allclose(derived["aVR"] + derived["aVL"] + derived["aVF"], 0, atol=1e-9)


@settings(max_examples=25, deadline=None)
@given(permutation=st.permutations(range(12)))
def test_any_channel_order_is_restored_to_standard(permutation):
    signal = np.arange(12, dtype=np.float32)[:, None] * np.ones((1, 8), np.float32)  # row i holds value i
    names = tuple(STANDARD_LEADS[i] for i in permutation)
    standard, mask, derived = to_standard_leads(signal[list(permutation)], names, "perm")
    np.testing.assert_array_equal(standard[:, 0], np.arange(12))
    assert mask.all() and derived == ()


def test_eight_leads_derive_four_and_warn_about_nothing():
    names = ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")
    signal = np.random.default_rng(0).standard_normal((8, 100)).astype(np.float32)
    standard, mask, derived = to_standard_leads(signal, names, "eight")
    assert set(derived) == {"III", "aVR", "aVL", "aVF"} and mask.all()


def test_missing_leads_without_i_and_ii_are_masked_with_a_warning():
    signal = np.ones((6, 50), np.float32)
    with pytest.warns(EcgReadWarning, match="aVF"):
        standard, mask, _ = to_standard_leads(signal, STANDARD_LEADS[6:], "chest-only")
    assert mask.tolist() == [False] * 6 + [True] * 6
    assert not standard[:6].any()


def test_two_channels_naming_the_same_lead_is_an_error():
    with pytest.raises(EcgReadError, match="both lead II"):
        to_standard_leads(np.zeros((2, 10)), ("II", "MLII"), "dup")
