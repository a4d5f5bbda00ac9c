"""melp.hubness: a text close to every ECG (a hub) stops coming first for every record."""
import numpy as np
import pytest

from melp.hubness import corrected_similarity, text_hubness


def _unit(x):
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def test_hubness_is_the_mean_of_the_closest_bank_ecgs_across_chunks(monkeypatch):
    rng = np.random.default_rng(0)
    texts, bank = _unit(rng.standard_normal((7, 16))), _unit(rng.standard_normal((50, 16)))
    monkeypatch.setattr("melp.hubness.BANK_CHUNK", 8)  # the running top-k crosses chunk borders
    similarity = bank @ texts.T  # (50, 7)
    for neighbours in (1, 3):
        expected = np.sort(similarity, axis=0)[-neighbours:].mean(axis=0)
        np.testing.assert_allclose(text_hubness(texts, bank, neighbours), expected, rtol=1e-6)


def test_a_generic_text_stops_winning_every_record():
    """Every ECG embedding leans towards the normal ECGs' direction (as real embeddings crowd together), so
    the normal report is the closest text to abnormal ECGs too; corrected, each kind finds its own."""
    rng = np.random.default_rng(1)
    kinds = _unit(rng.standard_normal((4, 32)))  # kind 0 normal, 1-3 abnormal; report i = kinds[i]

    def ecgs(n):  # n ECGs of each kind, abnormal ones leaning towards normal, noisy, unit length
        centres = np.concatenate([kinds[:1], 1.5 * kinds[:1] + kinds[1:]])
        return _unit(np.repeat(centres, n, axis=0) + 0.2 * rng.standard_normal((4 * n, 32)) / np.sqrt(32))

    queries, bank = ecgs(25), ecgs(100)  # the bank never holds the queries
    truth = np.repeat(np.arange(4), 25)
    plain = (queries @ kinds.T).argmax(axis=1)
    corrected = corrected_similarity(queries, kinds, text_hubness(kinds, bank)).argmax(axis=1)
    assert np.mean(plain[truth > 0] == 0) > 0.9  # the normal report wins the abnormal ECGs by plain cosine
    assert np.mean(corrected == truth) > 0.9


def test_bad_shapes_and_neighbour_counts_are_refused():
    texts, bank = np.ones((2, 4)), np.ones((3, 4))
    with pytest.raises(ValueError, match="must be"):
        text_hubness(texts, np.ones((3, 5)))
    with pytest.raises(ValueError, match="1 to 3"):
        text_hubness(texts, bank, neighbours=4)
