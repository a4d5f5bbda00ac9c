"""MELP's losses: CLIP InfoNCE, captioning CE ignoring padding, GLoRIA-form beat-sentence loss."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from melp.config import LossConfig, MelpConfig
from melp.data.heartbeats import type_code
from melp.grounding import WHOLE_RECORDING
from melp.losses import IGNORE_INDEX, MelpLoss, beat_sentence_loss, caption_loss, clip_loss, grounding_loss


def _outputs(batch: int = 4, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {
        "ecg_embeds": F.normalize(torch.randn(batch, 8, generator=g), dim=-1),
        "text_embeds": F.normalize(torch.randn(batch, 8, generator=g), dim=-1),
        "beat_embeds": torch.randn(batch, 5, 8, generator=g),
        "sentence_embeds": torch.randn(batch, 3, 8, generator=g),
        "sentence_mask": torch.ones(batch, 3, dtype=torch.bool),
        "caption_logits": torch.randn(batch, 6, 11, generator=g),
        "caption_labels": torch.randint(0, 11, (batch, 6), generator=g),
        "logit_scale": torch.tensor(1 / 0.07),
    }


def test_clip_loss_is_low_for_matched_pairs_and_symmetric():
    embeds = F.normalize(torch.randn(6, 8), dim=-1)
    matched = clip_loss(embeds, embeds, torch.tensor(100.0))
    shuffled = clip_loss(embeds, embeds.roll(1, dims=0), torch.tensor(100.0))
    assert matched < 0.1 < shuffled
    other = F.normalize(torch.randn(6, 8), dim=-1)
    torch.testing.assert_close(clip_loss(embeds, other, torch.tensor(3.0)), clip_loss(other, embeds, torch.tensor(3.0)))


def test_logit_scale_is_clamped_at_configured_maximum():
    outputs = _outputs()
    loss = MelpLoss(MelpConfig())
    at_max = loss({**outputs, "logit_scale": torch.tensor(100.0)})["loss_rhythm"]
    above = loss({**outputs, "logit_scale": torch.tensor(1e4)})["loss_rhythm"]
    torch.testing.assert_close(at_max, above)


def test_caption_loss_ignores_padding():
    logits = torch.randn(2, 4, 7)
    labels = torch.tensor([[1, 2, 3, IGNORE_INDEX], [4, IGNORE_INDEX, IGNORE_INDEX, IGNORE_INDEX]])
    changed = logits.clone()
    changed[0, 3] = 100.0  # logits at padded positions do not matter
    changed[1, 1:] = -100.0
    torch.testing.assert_close(caption_loss(logits, labels), caption_loss(changed, labels))
    manual = F.cross_entropy(torch.stack([logits[0, 0], logits[0, 1], logits[0, 2], logits[1, 0]]),
                             torch.tensor([1, 2, 3, 4]))
    torch.testing.assert_close(caption_loss(logits, labels), manual)


def test_beat_loss_prefers_sentences_matching_their_own_beats():
    beats = torch.randn(4, 5, 8)
    aligned = beats[:, :3].clone() * 3  # each report's sentences copy its own ECG's beats
    mask = torch.ones(4, 3, dtype=torch.bool)
    cfg = LossConfig()
    assert beat_sentence_loss(aligned, mask, beats, cfg) < beat_sentence_loss(aligned.roll(1, dims=0), mask, beats, cfg)


def test_report_without_sentences_does_not_misalign_the_batch():
    outputs = _outputs(batch=4)
    cfg = LossConfig()
    mask = outputs["sentence_mask"].clone()
    mask[1] = False  # report 1 has no sentence: drop pair 1 entirely
    keep = torch.tensor([0, 2, 3])
    with_empty = beat_sentence_loss(outputs["sentence_embeds"], mask, outputs["beat_embeds"], cfg)
    without = beat_sentence_loss(outputs["sentence_embeds"][keep], outputs["sentence_mask"][keep],
                                 outputs["beat_embeds"][keep], cfg)
    torch.testing.assert_close(with_empty, without)


def test_padded_sentences_do_not_change_the_beat_loss():
    outputs = _outputs(batch=3)
    cfg = LossConfig()
    mask = outputs["sentence_mask"].clone()
    mask[0, 2] = False
    changed = outputs["sentence_embeds"].clone()
    changed[0, 2] = 1e3
    a = beat_sentence_loss(outputs["sentence_embeds"], mask, outputs["beat_embeds"], cfg)
    b = beat_sentence_loss(changed, mask, outputs["beat_embeds"], cfg)
    torch.testing.assert_close(a, b)
    assert torch.isfinite(a)


def test_beat_loss_without_negatives_is_zero_with_gradient():
    sentences = torch.randn(2, 3, 8, requires_grad=True)
    mask = torch.tensor([[True, False, False], [False, False, False]])
    loss = beat_sentence_loss(sentences, mask, torch.randn(2, 5, 8), LossConfig())
    loss.backward()
    assert loss.item() == 0.0 and sentences.grad is not None


def test_total_is_weighted_sum_of_named_terms():
    terms = MelpLoss(MelpConfig())(_outputs())
    expected = 1.0 * terms["loss_rhythm"] + 2.0 * terms["loss_token"] + 0.2 * terms["loss_beat"]
    torch.testing.assert_close(terms["loss"], expected)
    assert all(math.isfinite(v.item()) for v in terms.values())


def test_beat_loss_ignores_padded_heartbeats():
    outputs = _outputs()
    mask = torch.ones(4, 5, dtype=torch.bool)
    mask[:, 3:] = False
    cfg = LossConfig()
    base = beat_sentence_loss(outputs["sentence_embeds"], outputs["sentence_mask"], outputs["beat_embeds"], cfg, mask)
    changed = outputs["beat_embeds"].clone()
    changed[:, 3:] = torch.randn(4, 2, 8) * 10
    torch.testing.assert_close(beat_sentence_loss(outputs["sentence_embeds"], outputs["sentence_mask"], changed, cfg, mask),
                               base)
    assert not torch.allclose(beat_sentence_loss(outputs["sentence_embeds"], outputs["sentence_mask"], changed, cfg), base)


def test_beat_loss_drops_ecgs_without_heartbeats():
    outputs = _outputs()
    mask = torch.ones(4, 5, dtype=torch.bool)
    mask[0] = False
    loss = beat_sentence_loss(outputs["sentence_embeds"], outputs["sentence_mask"], outputs["beat_embeds"],
                              LossConfig(), mask)
    assert torch.isfinite(loss)


PVC, NORMAL = type_code("pvc"), type_code("normal")


def _grounding_batch(aligned: bool) -> tuple[torch.Tensor, ...]:
    """One record of 4 heartbeats (the third a PVC) and two sentences: a rhythm one and a PVC one."""
    heartbeats = F.normalize(torch.tensor([[[1.0, 0, 0], [1.0, 0, 0], [0, 1.0, 0], [1.0, 0, 0]]]), dim=-1)
    pvc_sentence = [0.0, 1.0, 0.0] if aligned else [1.0, 0.0, 0.0]
    sentences = torch.tensor([[[0.0, 0.0, 1.0], pvc_sentence]])  # rhythm sentence equally far from all
    kinds = torch.tensor([[WHOLE_RECORDING, PVC]])
    types = torch.tensor([[NORMAL, NORMAL, PVC, NORMAL]])
    return sentences, kinds, heartbeats, types


def test_grounding_loss_rewards_pointing_the_ectopy_sentence_at_the_ectopic_heartbeat():
    aligned = grounding_loss(*_grounding_batch(aligned=True), scale=10.0)
    misaligned = grounding_loss(*_grounding_batch(aligned=False), scale=10.0)
    assert aligned < 0.05 < misaligned


def test_grounding_loss_is_zero_for_a_flat_whole_recording_sentence():
    sentences, _, heartbeats, types = _grounding_batch(aligned=True)
    loss = grounding_loss(sentences[:, :1], torch.tensor([[WHOLE_RECORDING]]), heartbeats, types, scale=10.0)
    assert loss.abs() < 1e-5


def test_grounding_loss_skips_unknown_records_and_stays_finite_without_heartbeats():
    sentences, kinds, heartbeats, _ = _grounding_batch(aligned=False)
    unknown = torch.tensor([[0, 0, 0, 0]])  # kinds unknown (real records): no supervision
    padding = torch.full((1, 4), -1)  # no heartbeat at all
    for types in (unknown, padding):
        embeds = heartbeats.clone().requires_grad_(True)
        loss = grounding_loss(sentences, kinds, embeds, types, scale=10.0)
        loss.backward()
        assert loss == 0 and torch.isfinite(embeds.grad).all()
