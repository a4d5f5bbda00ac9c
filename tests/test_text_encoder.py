"""Text tower: sentence splitting, [CLS] embedding, causal switch, frozen layers; config checks."""
from __future__ import annotations

import pytest
import torch

from melp.config import MelpConfig
from melp.models.text_encoder import TextEncoder
from tests.model_fixtures import tiny_config


@pytest.fixture(scope="module")
def text_encoder() -> TextEncoder:
    return TextEncoder(tiny_config().text, embed_dim=32).eval()


def _sentences(encoder: TextEncoder, reports: list[str]):
    tokens = encoder.tokenize(reports)
    with torch.inference_mode():
        return encoder(**tokens), tokens


@pytest.mark.parametrize("report, n_sentences", [
    ("sinus rhythm. normal ecg; no st changes! is it ok?", 4),
    ("sinus rhythm without punctuation", 1),
    ("sinus rhythm.", 1),
    ("first. . second", 2),
    ("", 0),
])
def test_sentence_count_follows_punctuation(text_encoder, report, n_sentences):
    outputs, _ = _sentences(text_encoder, [report, "one. two. three. four. five."])
    assert int(outputs["sentence_mask"][0].sum()) == n_sentences
    assert outputs["sentence_mask"][0, :n_sentences].all()  # valid sentences come first


def test_sentence_embedding_is_projected_mean_of_its_word_states(text_encoder):
    outputs, tokens = _sentences(text_encoder, ["sinus rhythm. left axis deviation"])
    ids = tokens["input_ids"][0].tolist()
    period = ids.index(text_encoder.tokenizer.convert_tokens_to_ids("."))
    states = outputs["token_states"][0]
    first = states[1:period].mean(dim=0)
    second = states[period + 1: len(ids) - 1].mean(dim=0)
    with torch.inference_mode():
        expected = text_encoder.sentence_proj(torch.stack([first, second]))
    torch.testing.assert_close(outputs["sentence_embeds"][0], expected)


def test_report_normalisation_makes_case_and_spacing_irrelevant(text_encoder):
    a = text_encoder.tokenize(["Sinus  Rhythm.\nNormal ECG"])
    b = text_encoder.tokenize(["sinus rhythm. normal ecg"])
    assert torch.equal(a["input_ids"], b["input_ids"])


def test_causal_attention_hides_later_tokens():
    encoder = TextEncoder(tiny_config(causal=True).text, embed_dim=32).eval()
    tokens = encoder.tokenize(["sinus rhythm. normal", "sinus rhythm. abnormal"])
    with torch.inference_mode():
        states = encoder(**tokens)["token_states"]
    torch.testing.assert_close(states[0, :4], states[1, :4])  # [CLS] sinus rhythm . : shared prefix


def test_frozen_layers_and_embeddings_have_no_gradient(text_encoder):
    bert = text_encoder.bert
    assert not any(p.requires_grad for p in bert.embeddings.parameters())
    assert not any(p.requires_grad for layer in bert.encoder.layer[:6] for p in layer.parameters())
    assert all(p.requires_grad for p in text_encoder.global_proj.parameters())
    assert text_encoder.base_model_path is not None


def test_mean_pooling_projects_the_mean_of_real_token_states():
    encoder = TextEncoder(tiny_config(pooling="mean").text, embed_dim=32).eval()
    tokens = encoder.tokenize(["sinus rhythm", "left axis deviation. abnormal ecg"])  # row 0 is padded
    with torch.inference_mode():
        outputs = encoder(**tokens)
        real = int(tokens["attention_mask"][0].sum())
        assert real < tokens["input_ids"].shape[1]
        expected = torch.nn.functional.normalize(encoder.global_proj(outputs["token_states"][0, :real].mean(0)), dim=-1)
        cls = torch.nn.functional.normalize(encoder.global_proj(outputs["token_states"][0, 0]), dim=-1)
    torch.testing.assert_close(outputs["text_embeds"][0], expected)
    assert not torch.allclose(outputs["text_embeds"][0], cls)


def test_config_round_trips_through_json(tmp_path):
    config = MelpConfig.preset("demo")
    config.save_pretrained(tmp_path)
    loaded = MelpConfig.from_pretrained(tmp_path)
    assert loaded.to_dict() == config.to_dict()
    assert loaded.ecg.conv_strides == (2, 2, 2, 2) and loaded.ecg_tokens == 62


def test_config_rejects_unknown_field_and_quotes_bad_values():
    with pytest.raises(TypeError, match="widht"):
        MelpConfig(ecg={"widht": 64})
    with pytest.raises(ValueError, match="width 100 is not divisible by heads 12"):
        MelpConfig(ecg={"width": 100})
    with pytest.raises(TypeError, match="unknown arguments"):
        MelpConfig(decodr={})
    with pytest.raises(ValueError, match="pooling='max'"):
        MelpConfig(text={"pooling": "max"})
