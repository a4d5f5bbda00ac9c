"""The embedded default checkpoint and library: small enough, loadable offline, and clinically sensible.

These check the shipped artefacts, on ECGs simulated with seeds the training corpus never used.
"""
from pathlib import Path

import numpy as np
import pytest

import melp
from melp.metrics import auroc
from melp.synth import simulate

ROOT = Path(__file__).resolve().parents[1]
CHECKPOINT = ROOT / "checkpoints" / "melp-demo"
CHECKPOINT_BUDGET_BYTES = 60 * 2**20  # issue 5: the embedded checkpoint stays within 60 MB
LIBRARY_BUDGET_BYTES = 25 * 10**6  # issue 13: index/default stays within 25 MB
UNSEEN_SEED = 7_000_000  # training used simulate_record(0, i); these seeds are disjoint


@pytest.fixture(scope="module")
def default_model():
    return melp.load()


def _records(conditions, n):
    return [simulate(conditions, seed=UNSEEN_SEED + 100 * len(conditions) + i).record for i in range(n)]


def test_checkpoint_fits_the_repository_budget():
    size = sum(path.stat().st_size for path in CHECKPOINT.rglob("*") if path.is_file())
    assert 0 < size <= CHECKPOINT_BUDGET_BYTES


def test_default_model_loads_offline_in_eval_mode(default_model):
    assert not default_model.training
    assert default_model.encode_ecg(_records(["sinus_rhythm"], 1)).shape == (1, default_model.config.embed_dim)


@pytest.mark.parametrize("condition, prompt, contrast", [
    ("atrial_fibrillation", "atrial fibrillation", "sinus_rhythm"),
    ("lbbb", "left bundle branch block", "sinus_rhythm"),
    ("st_elevation_inferior", "inferior st elevation", "sinus_rhythm"),
])
def test_plain_words_prompt_separates_its_condition_from_normal(default_model, condition, prompt, contrast):
    positives, negatives = _records([condition], 6), _records([contrast], 6)
    scores = default_model.zero_shot(positives + negatives, [prompt])[:, 0]  # (12,)
    labels = np.array([1] * len(positives) + [0] * len(negatives))
    assert auroc(labels, scores) >= 0.9


def test_generated_report_names_the_rhythm(default_model):
    report = default_model.generate_report(_records(["atrial_fibrillation"], 1)[0])
    assert "fibrillation" in report.lower() or "afib" in report.lower()


def test_committed_library_matches_the_checkpoint_so_the_app_never_rebuilds_on_start(default_model):
    from index.default import COMMITTED_DIR, _matches, committed_label
    from index.manifest import model_fingerprint

    assert _matches(COMMITTED_DIR, model_fingerprint(default_model), committed_label())


def test_committed_library_fits_its_budget_and_ranks_free_text_against_its_reference_set(default_model):
    from index import Library
    from index.default import COMMITTED_DIR, COMMITTED_REFERENCE

    size = sum(path.stat().st_size for path in COMMITTED_DIR.iterdir() if path.is_file())
    assert 0 < size <= LIBRARY_BUDGET_BYTES
    library = Library.open(COMMITTED_DIR, default_model)
    reference = library.reference_vectors()  # (M, E)
    assert reference.shape == (COMMITTED_REFERENCE, default_model.config.embed_dim)
    np.testing.assert_allclose(np.linalg.norm(reference, axis=1), 1.0, atol=2e-3)  # unit vectors, float16
    assert library.manifest.reference.source == f"ptbxl-train:PTBXL:{COMMITTED_REFERENCE}"  # no builder's path
