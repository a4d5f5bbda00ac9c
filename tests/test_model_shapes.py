"""Shapes and wiring of MelpModel for the paper and demo presets and a tiny config."""
from __future__ import annotations

import pytest
import torch

from melp.config import MelpConfig, conv_output_length
from melp.models.melp import MelpModel
from tests.model_fixtures import tiny_config

REPORTS = ["Sinus rhythm. Normal ECG.", "Atrial fibrillation; rapid ventricular response", ""]


@pytest.fixture(scope="module")
def tiny_model() -> MelpModel:
    torch.manual_seed(0)
    return MelpModel(tiny_config()).eval()


@pytest.fixture(scope="module")
def paper_model() -> MelpModel:
    return MelpModel(MelpConfig.preset("paper")).eval()


def _check_forward_shapes(model: MelpModel, batch: int) -> None:
    config = model.config
    signals = torch.randn(batch, 12, config.input_samples)
    tokens = model.tokenize(REPORTS[:batch])
    with torch.inference_mode():
        ecg = model.encode_ecg_tensors(signals)
        outputs = model(signals, None, **tokens)
    queries, caption_queries, embed = config.pooler.n_beat_queries, config.pooler.n_caption_queries, config.embed_dim
    assert ecg["rhythm"].shape == (batch, embed)
    assert ecg["beats"].shape == (batch, queries, embed)
    assert ecg["probe_features"].shape == (batch, embed)
    assert ecg["caption_tokens"].shape == (batch, caption_queries, config.decoder.width)
    assert ecg["beat_attention"].shape == (batch, queries, config.ecg_tokens)
    assert ecg["caption_attention"].shape == (batch, caption_queries, config.ecg_tokens)
    targets = int(tokens["attention_mask"][:, 1:].sum())  # logits only where the next token is real
    assert outputs["caption_logits"].shape == (targets, len(model.tokenizer))
    assert outputs["caption_labels"].shape == (targets,)
    assert outputs["text_embeds"].shape == (batch, embed)
    assert outputs["sentence_embeds"].shape[::2] == (batch, embed)
    torch.testing.assert_close(outputs["text_embeds"].norm(dim=-1), torch.ones(batch))
    torch.testing.assert_close(ecg["rhythm"].norm(dim=-1), torch.ones(batch))


def test_paper_preset_has_published_sizes_and_shapes(paper_model):
    config = paper_model.config
    assert (config.input_samples, config.ecg_tokens, config.embed_dim) == (5000, 312, 256)
    assert config.preprocess["lead_order"] == "mimic" and config.preprocess["normalisation"] == "minmax_record"
    assert paper_model.text_encoder.bert.config.hidden_size == 768
    assert len(paper_model.decoder.layers) == 6
    encoder_params = sum(p.numel() for p in paper_model.ecg_encoder.parameters())
    assert encoder_params == 65_084_032 - 4 * 256  # official embedding paths minus 4 of the 14 beat queries
    _check_forward_shapes(paper_model, batch=1)


def test_demo_preset_shapes():
    model = MelpModel(MelpConfig.preset("demo")).eval()
    assert model.config.ecg_tokens == 62  # 10 s at 100 Hz through 4 stride-2 convs
    _check_forward_shapes(model, batch=3)


def test_tiny_model_shapes(tiny_model):
    _check_forward_shapes(tiny_model, batch=3)


def test_decoder_is_taught_the_caption_while_the_text_tower_reads_the_subset(tiny_model):
    signals = torch.randn(2, 12, tiny_model.config.input_samples)
    subset = tiny_model.tokenize(["normal ecg.", "atrial fibrillation"])
    whole = tiny_model.tokenize(["sinus rhythm. normal ecg.", "atrial fibrillation; rapid ventricular response"])
    with torch.inference_mode():
        split = tiny_model(signals, None, **subset, caption_ids=whole["input_ids"], caption_mask=whole["attention_mask"])
        text_only = tiny_model(signals, None, **subset)
        caption_only = tiny_model(signals, None, **whole)
    torch.testing.assert_close(split["text_embeds"], text_only["text_embeds"])
    torch.testing.assert_close(split["caption_logits"], caption_only["caption_logits"])
    assert split["caption_labels"].shape == (int(whole["attention_mask"][:, 1:].sum()),)


def test_amplitude_input_makes_the_embedding_see_voltage():
    signals = torch.randn(2, 12, tiny_config().input_samples)
    plain = MelpModel(tiny_config()).eval()
    with torch.inference_mode():  # the first GroupNorm divides the record's scale out
        torch.testing.assert_close(plain.encode_ecg_tensors(0.3 * signals)["rhythm"],
                                   plain.encode_ecg_tensors(signals)["rhythm"], rtol=1e-3, atol=1e-3)
    config = tiny_config()
    config.ecg.amplitude_input = True
    model = MelpModel(config).eval()
    assert "ecg_encoder.encoder.amplitude_proj.weight" in model.state_dict()
    assert "ecg_encoder.encoder.amplitude_proj.weight" not in plain.state_dict()  # paper/official layout
    torch.nn.init.normal_(model.ecg_encoder.encoder.amplitude_proj.weight)  # as if trained (starts at zero)
    with torch.inference_mode():
        scaled = model.encode_ecg_tensors(0.3 * signals)["rhythm"]
        same = model.encode_ecg_tensors(signals)["rhythm"]
    assert (scaled * same).sum(-1).max() < 0.99
    assert MelpConfig.preset("demo").ecg.amplitude_input and not MelpConfig.preset("paper").ecg.amplitude_input


@pytest.mark.parametrize("samples", [500, 777, 1000, 2501])
def test_encoder_length_matches_formula(samples):
    config = tiny_config()
    model = MelpModel(config).ecg_encoder.encoder
    expected = conv_output_length(samples, config.ecg.conv_kernels, config.ecg.conv_strides)
    with torch.inference_mode():
        assert model(torch.randn(1, 12, samples))["encoder_x"].shape == (1, expected, config.ecg.width)


def test_missing_lead_is_zero_filled(tiny_model):
    signals = torch.randn(2, 12, tiny_model.config.input_samples)
    lead_mask = torch.ones(2, 12, dtype=torch.bool)
    lead_mask[:, 7] = False
    zeroed = signals.clone()
    zeroed[:, 7] = 0.0
    with torch.inference_mode():
        masked = tiny_model.encode_ecg_tensors(signals, lead_mask)["rhythm"]
        reference = tiny_model.encode_ecg_tensors(zeroed)["rhythm"]
        unmasked = tiny_model.encode_ecg_tensors(signals)["rhythm"]
    torch.testing.assert_close(masked, reference)
    assert not torch.allclose(masked, unmasked)


def test_wrong_input_length_error_names_expected_shape(tiny_model):
    with pytest.raises(ValueError, match=r"expected \(B, 12, 500\)"):
        tiny_model.encode_ecg_tensors(torch.randn(1, 12, 499))


def test_positional_conv_uses_parametrized_weight_norm_per_kernel_tap(tiny_model):
    state = tiny_model.ecg_encoder.state_dict()
    g = state["encoder.pos_conv.conv.parametrizations.weight.original0"]
    v = state["encoder.pos_conv.conv.parametrizations.weight.original1"]
    assert g.shape == (1, 1, 16) and v.shape == (64, 16, 16)
    conv = tiny_model.ecg_encoder.encoder.pos_conv.conv
    torch.testing.assert_close(conv.weight, g * v / v.norm(dim=(0, 1), keepdim=True))


def test_token_times_are_increasing_and_inside_the_window(tiny_model):
    times = tiny_model.token_times()
    assert times.shape == (tiny_model.config.ecg_tokens,)
    assert torch.all(times.diff() > 0) and times[0] >= 0 and times[-1] <= tiny_model.config.preprocess["seconds"]
