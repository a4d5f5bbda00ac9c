"""The inference API contract on a tiny untrained model: shapes, normalisation, prompts, explain, melp.load."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import melp
import melp.api
from melp.checkpoint import save_pretrained
from tests.tiny_melp import RECORD_FS, spiky_record, tiny_model

PROMPTS = ["sinus rhythm", "atrial fibrillation", "left bundle branch block"]


@pytest.fixture(scope="module")
def model():
    return tiny_model(seed=5)


@pytest.fixture(scope="module")
def records():
    return [spiky_record(seed) for seed in range(3)]


def test_encode_ecg_returns_unit_rows_for_one_record_and_a_list(model, records):
    many = model.encode_ecg(records, batch_size=2)
    one = model.encode_ecg(records[1])
    assert many.shape == (3, model.config.embed_dim) and many.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(many, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(one[0], many[1], rtol=1e-5, atol=1e-6)


def test_batch_size_does_not_change_embeddings(model, records):
    np.testing.assert_allclose(model.encode_ecg(records, batch_size=1), model.encode_ecg(records, batch_size=3),
                               rtol=1e-5, atol=1e-6)


def test_encode_text_returns_unit_rows(model):
    embeddings = model.encode_text(PROMPTS)
    assert embeddings.shape == (3, model.config.embed_dim)
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(model.encode_text("sinus rhythm")[0], embeddings[0], rtol=1e-5, atol=1e-6)


def test_zero_shot_scores_are_cosines_of_ecg_and_prompt_embeddings(model, records):
    scores = model.zero_shot(records, PROMPTS)
    expected = model.encode_ecg(records) @ model.encode_text(PROMPTS).T
    assert scores.shape == (3, 3)
    np.testing.assert_allclose(scores, expected, rtol=1e-5, atol=1e-6)


def test_zero_shot_phrase_list_is_the_renormalised_mean_of_its_phrasings(model, records):
    phrasings = ["atrial fibrillation", "irregularly irregular rhythm", "af"]
    scores = model.zero_shot(records, ["sinus rhythm", phrasings])
    mean = model.encode_text(phrasings).mean(axis=0)
    expected = model.encode_ecg(records) @ (mean / np.linalg.norm(mean))
    assert scores.shape == (3, 2)
    np.testing.assert_allclose(scores[:, 1], expected, rtol=1e-5, atol=1e-6)


def test_zero_shot_probabilities_sum_to_one_and_follow_the_scores(model, records):
    probabilities = model.zero_shot_probabilities(records, PROMPTS)
    scores = model.zero_shot(records, PROMPTS)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    assert (probabilities > 0).all()
    assert (np.argsort(probabilities, axis=1) == np.argsort(scores, axis=1)).all()


def test_zero_shot_refuses_a_bare_string_as_prompts(model, records):
    with pytest.raises(TypeError, match="prompts must be a list"):
        model.zero_shot(records, "sinus rhythm")


def test_window_all_averages_embeddings_over_windows(model):
    long_record = spiky_record(7, seconds=6.5)  # three full 2 s windows (the last 0.5 s is dropped)
    averaged = model.encode_ecg(long_record, window="all")
    windows = list(melp.windows(long_record, model.config.preprocess["seconds"]))
    per_window = model.encode_ecg(windows)
    mean = per_window.mean(axis=0)
    assert len(windows) == 3
    np.testing.assert_allclose(averaged[0], mean / np.linalg.norm(mean), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.encode_ecg(long_record)[0], per_window[0], rtol=1e-5, atol=1e-6)


def test_window_best_takes_each_prompts_best_window(model):
    long_record = spiky_record(8, seconds=6.0)
    windows = list(melp.windows(long_record, model.config.preprocess["seconds"]))
    best = model.zero_shot(long_record, PROMPTS, window="best")
    np.testing.assert_allclose(best[0], model.zero_shot(windows, PROMPTS).max(axis=0), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="only applies to zero_shot"):
        model.encode_ecg(long_record, window="best")


def test_features_have_one_row_per_record(model, records):
    features = model.features(records)
    assert features.shape == (3, model.config.embed_dim) and np.isfinite(features).all()


def test_generate_report_returns_text_for_greedy_beam_and_sampling(model, records):
    for options in ({}, {"num_beams": 3}, {"do_sample": True, "top_p": 0.9, "seed": 1}):
        report = model.generate_report(records[0], max_new_tokens=10, **options)
        assert isinstance(report, str)
    with pytest.raises(TypeError, match="generate_reports"):
        model.generate_report(records)
    assert len(model.generate_reports(records)) == 3


def test_inference_leaves_a_training_model_in_training_mode(records):
    training_model = tiny_model(seed=5).train()
    embeddings = training_model.encode_ecg(records)
    assert training_model.training
    np.testing.assert_allclose(embeddings, tiny_model(seed=5).encode_ecg(records), rtol=1e-5, atol=1e-6)


def test_inference_runs_every_module_in_eval_mode_and_restores_the_callers_modes(records):
    """An eval-mode model is not switched (that walks every module), but a module left training in it is;
    the caller's modes come back after."""
    model = tiny_model(seed=5).eval()
    dropout = next(module for module in model.modules() if isinstance(module, torch.nn.Dropout))
    seen = []
    dropout.register_forward_hook(lambda module, inputs, output: seen.append(module.training))
    model.encode_ecg(records)
    assert seen and not any(seen) and not any(module.training for module in model.modules())
    dropout.train()  # one submodule left training by a caller
    seen.clear()
    model.encode_ecg(records)
    assert seen and not any(seen)
    model.train()
    seen.clear()
    model.encode_ecg(records)
    assert seen and not any(seen) and all(module.training for module in model.modules())


def test_explain_shapes_for_a_given_text(model):
    record = spiky_record(2)
    explanation = model.explain(record, text="Sinus rhythm. Normal ECG; no acute changes")
    config = model.config
    n_samples = config.input_samples
    n_beats = config.pooler.n_beat_queries
    assert explanation.beat_attention.shape == (n_beats, n_samples)
    assert explanation.caption_attention.shape == (n_samples,)
    assert explanation.caption_attention.max() == pytest.approx(1.0)
    assert explanation.sentences == ["sinus rhythm.", "normal ecg;", "no acute changes"]
    assert explanation.sentence_beat_similarity.shape == (3, n_beats)
    assert np.all(np.abs(explanation.sentence_beat_similarity) <= 1.0 + 1e-5)
    assert explanation.fs == config.preprocess["fs"] and explanation.signal.shape == (12, n_samples)
    assert not explanation.generated


def test_explain_r_peaks_are_the_beats_of_the_input_window_at_model_rate(model):
    record = spiky_record(0, seconds=6.0)
    explanation = model.explain(record, text="sinus rhythm.")
    window = next(melp.windows(record, model.config.preprocess["seconds"]))
    expected = np.round(melp.beats(window).r_peaks * explanation.fs / RECORD_FS)
    assert explanation.r_peaks.dtype.kind == "i" and len(explanation.r_peaks) >= 1
    np.testing.assert_array_equal(explanation.r_peaks, expected)
    true_beat_times = np.arange(0.3, 2.0, 0.8)  # spiky_record(0) spikes inside the first 2 s
    distances = np.abs(explanation.r_peaks[:, None] / explanation.fs - true_beat_times[None, :]).min(axis=1)
    assert (distances <= 2 / explanation.fs).all()


def test_explain_without_text_explains_the_generated_report(model):
    record = spiky_record(1)
    explanation = model.explain(record)
    assert explanation.generated
    assert explanation.text == model.generate_report(record)
    assert explanation.sentence_beat_similarity.shape == (len(explanation.sentences), model.config.pooler.n_beat_queries)


def test_load_without_default_checkpoint_names_the_folder_and_the_training_command(tmp_path, monkeypatch):
    missing = tmp_path / "checkpoints" / "melp-demo"
    monkeypatch.setattr(melp.api, "DEFAULT_CHECKPOINT", missing)
    with pytest.raises(FileNotFoundError, match=rf"{missing}.*make default-checkpoint"):
        melp.load()


def test_load_path_returns_an_eval_model_with_the_same_outputs(model, records, tmp_path):
    folder = save_pretrained(model, tmp_path / "tiny")
    loaded = melp.load(folder, device="cpu")
    assert not loaded.training
    np.testing.assert_array_equal(loaded.encode_ecg(records), model.encode_ecg(records))
    with pytest.raises(FileNotFoundError, match="not a MELP checkpoint folder"):
        melp.load(tmp_path / "elsewhere")
