"""Caption decoder and report generation: KV cache, beam search, sampling, padding, initialisation."""
from __future__ import annotations

import pytest
import torch

from melp.config import DecoderConfig
from melp import generation
from melp.generation import GenerationConfig, generate
from melp.models.decoder import CaptionDecoder

VOCAB, CAPTION_WIDTH, CAPTION_QUERIES = 40, 24, 5
PAD, BOS, EOS = 0, 1, 2
WEIGHT_SPREAD = 0.5  # re-randomised weights: a fresh init is near-degenerate (repeats one token)


def make_decoder(seed: int = 0, spread: float | None = WEIGHT_SPREAD, tie: bool = True) -> CaptionDecoder:
    torch.manual_seed(seed)
    cfg = DecoderConfig(width=32, layers=2, heads=4, mlp_ratio=2.0, max_length=48, tie_embeddings=tie)
    decoder = CaptionDecoder(cfg, VOCAB, CAPTION_WIDTH, pad_token_id=PAD, bos_token_id=BOS, eos_token_id=EOS)
    if spread is not None:
        with torch.no_grad():
            for parameter in decoder.parameters():
                parameter.normal_(0.0, spread)
    return decoder.eval()


def captions(batch: int = 3, seed: int = 1) -> torch.Tensor:
    return torch.randn(batch, CAPTION_QUERIES, CAPTION_WIDTH, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("options", [
    {}, {"num_beams": 3}, {"do_sample": True, "seed": 7, "top_k": 10, "top_p": 0.9, "temperature": 0.8},
    {"repetition_penalty": 1.5, "min_new_tokens": 4},
])
def test_cached_and_uncached_generation_give_identical_tokens(options):
    decoder, caption_tokens = make_decoder(), captions()
    cached = generate(decoder, caption_tokens, GenerationConfig(max_new_tokens=30, use_cache=True, **options))
    uncached = generate(decoder, caption_tokens, GenerationConfig(max_new_tokens=30, use_cache=False, **options))
    assert torch.equal(cached, uncached)


def test_cached_step_logits_match_full_forward():
    decoder, caption_tokens = make_decoder(), captions()
    tokens = torch.randint(3, VOCAB, (3, 9), generator=torch.Generator().manual_seed(2))
    full_logits, _ = decoder(tokens, caption_tokens)  # (B, L, V)
    cache, step_logits = None, []
    for position in range(tokens.shape[1]):
        logits, cache = decoder(tokens[:, position:position + 1], caption_tokens, past_key_values=cache, use_cache=True)
        step_logits.append(logits)
    torch.testing.assert_close(torch.cat(step_logits, dim=1), full_logits, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_beam_search_with_one_beam_equals_greedy(seed):
    decoder, caption_tokens = make_decoder(seed), captions(seed=seed)
    with torch.no_grad():  # let some sequences end, so EOS handling is compared too
        decoder.token_embedding.weight[EOS] *= 3.0
    greedy = generate(decoder, caption_tokens, GenerationConfig(max_new_tokens=25))
    with torch.inference_mode():  # generate() routes num_beams == 1 to greedy, so call beam search itself
        one_beam = generation._beam_search(decoder, caption_tokens, GenerationConfig(max_new_tokens=25))
    assert torch.equal(greedy, one_beam)


def test_right_padding_does_not_change_real_token_logits():
    decoder, caption_tokens = make_decoder(), captions(batch=1)
    tokens = torch.tensor([[BOS, 5, 9, 12]])
    padded = torch.tensor([[BOS, 5, 9, 12, PAD, PAD, PAD]])
    mask = torch.tensor([[1, 1, 1, 1, 0, 0, 0]])
    plain_logits, _ = decoder(tokens, caption_tokens)
    padded_logits, _ = decoder(padded, caption_tokens, attention_mask=mask)
    torch.testing.assert_close(padded_logits[:, :4], plain_logits, rtol=1e-5, atol=1e-5)


def test_output_mask_gives_the_selected_positions_logits_only():
    decoder, caption_tokens = make_decoder(), captions(batch=2)
    tokens = torch.tensor([[BOS, 5, 9, 12, 7], [BOS, 3, 4, PAD, PAD]])
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
    keep = torch.tensor([[True, True, False, True, True], [True, True, False, False, False]])
    full, _ = decoder(tokens, caption_tokens, attention_mask=mask)
    selected, _ = decoder(tokens, caption_tokens, attention_mask=mask, output_mask=keep)
    assert selected.shape == (int(keep.sum()), VOCAB)
    torch.testing.assert_close(selected, full[keep])


def test_left_padding_with_mask_does_not_change_real_token_logits():
    decoder, caption_tokens = make_decoder(), captions(batch=1)
    tokens = torch.tensor([[BOS, 5, 9, 12]])
    padded = torch.tensor([[PAD, PAD, BOS, 5, 9, 12]])
    mask = torch.tensor([[0, 0, 1, 1, 1, 1]])
    plain_logits, _ = decoder(tokens, caption_tokens)
    padded_logits, _ = decoder(padded, caption_tokens, attention_mask=mask)
    assert torch.isfinite(padded_logits).all()
    torch.testing.assert_close(padded_logits[:, 2:], plain_logits, rtol=1e-5, atol=1e-5)


def test_generation_stops_at_eos_and_pads_after_it():
    decoder, caption_tokens = make_decoder(), captions(batch=6)
    with torch.no_grad():  # make EOS likely enough that some sequences end early
        decoder.token_embedding.weight[EOS] *= 3.0
    tokens = generate(decoder, caption_tokens, GenerationConfig(max_new_tokens=40))
    ended = (tokens == EOS).any(dim=1)
    assert ended.any()
    for row in tokens[ended]:
        first_eos = int((row == EOS).nonzero()[0])
        assert (row[first_eos + 1:] == PAD).all()
        assert not (row[:first_eos] == PAD).any() and not (row == BOS).any()


def test_min_and_max_new_tokens_bound_the_length():
    decoder, caption_tokens = make_decoder(), captions(batch=4)
    with torch.no_grad():  # EOS would be chosen at once without the minimum
        decoder.token_embedding.weight[EOS] *= 20.0
    tokens = generate(decoder, caption_tokens, GenerationConfig(max_new_tokens=12, min_new_tokens=6))
    assert tokens.shape[1] <= 12
    first_eos = [int((row == EOS).nonzero()[0]) for row in tokens if (row == EOS).any()]
    assert first_eos and min(first_eos) >= 6


def test_seeded_sampling_is_reproducible_and_top_k_one_is_greedy():
    decoder, caption_tokens = make_decoder(), captions()
    sampled = [generate(decoder, caption_tokens, GenerationConfig(max_new_tokens=20, do_sample=True, seed=3))
               for _ in range(2)]
    assert torch.equal(sampled[0], sampled[1])
    greedy = generate(decoder, caption_tokens, GenerationConfig(max_new_tokens=20))
    top_one = generate(decoder, caption_tokens, GenerationConfig(max_new_tokens=20, do_sample=True, top_k=1, seed=9))
    assert torch.equal(greedy, top_one)


def test_repetition_penalty_reduces_repeated_tokens():
    decoder, caption_tokens = make_decoder(spread=None), captions(batch=1)  # fresh init repeats one token
    plain = generate(decoder, caption_tokens, GenerationConfig(max_new_tokens=20))
    penalised = generate(decoder, caption_tokens, GenerationConfig(max_new_tokens=20, repetition_penalty=50.0))
    assert len(set(penalised[0].tolist())) > len(set(plain[0].tolist()))


def test_generate_restores_training_mode():
    decoder = make_decoder().train()
    generate(decoder, captions(), GenerationConfig(max_new_tokens=5))
    assert decoder.training


def test_too_many_new_tokens_for_the_context_is_refused():
    with pytest.raises(ValueError, match="context_length"):
        generate(make_decoder(), captions(), GenerationConfig(max_new_tokens=48))


def test_invalid_generation_options_are_refused():
    with pytest.raises(ValueError, match="num_beams"):
        GenerationConfig(num_beams=0)
    with pytest.raises(ValueError, match="do_sample"):
        GenerationConfig(num_beams=2, do_sample=True)


def test_every_decoder_parameter_initialised(monkeypatch):
    real_empty = torch.empty

    def nan_empty(*args, **kwargs):  # uninitialised memory made visible
        return real_empty(*args, **kwargs).fill_(float("nan"))

    monkeypatch.setattr(torch, "empty", nan_empty)
    for tie in (True, False):
        decoder = make_decoder(spread=None, tie=tie)
        for name, parameter in decoder.named_parameters():
            assert torch.isfinite(parameter).all(), f"{name} was not initialised"


def test_untied_decoder_has_its_own_output_projection():
    tied, untied = make_decoder(tie=True), make_decoder(tie=False)
    assert tied.output_proj is None and untied.output_proj.weight.shape == (VOCAB, 32)
    logits, _ = untied(torch.tensor([[BOS, 4]]), captions(batch=1))
    assert logits.shape == (1, 2, VOCAB)
