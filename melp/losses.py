"""MELP's three alignment losses (rhythm CLIP, token captioning, beat-sentence), returned as named terms."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from melp.config import LossConfig, MelpConfig
from melp.distributed import all_gather_with_grad

IGNORE_INDEX = -100  # caption_labels value for padding (torch cross_entropy's default ignore_index)


def clip_loss(ecg_embeds: torch.Tensor, text_embeds: torch.Tensor, logit_scale: torch.Tensor) -> torch.Tensor:
    """Symmetric InfoNCE over (B, E) L2-normalised pairs; row i of each is a positive pair."""
    logits = logit_scale * ecg_embeds @ text_embeds.T  # (B, B)
    targets = torch.arange(len(logits), device=logits.device)
    return (F.cross_entropy(logits, targets) + F.cross_entropy(logits.T, targets)) / 2


def caption_loss(caption_logits: torch.Tensor, caption_labels: torch.Tensor) -> torch.Tensor:
    """Teacher-forced next-token cross-entropy; labels equal to IGNORE_INDEX (padding) do not count."""
    return F.cross_entropy(caption_logits.reshape(-1, caption_logits.shape[-1]), caption_labels.reshape(-1),
                           ignore_index=IGNORE_INDEX)


def beat_sentence_loss(sentence_embeds: torch.Tensor, sentence_mask: torch.Tensor, beat_embeds: torch.Tensor,
                       cfg: LossConfig) -> torch.Tensor:
    """Local sentence-beat contrastive loss in the GLoRIA form (paper eqs. 2-5, official code).

    For every (report t, ECG e) pair, each sentence attends over e's beats and is compared with its
    attended context; the per-sentence cosines are pooled into one pair score, and a symmetric
    cross-entropy over the batch aligns report i with ECG i.

    Temperatures as the official code: attention sharpness gamma1 = 4 (the paper's tau1 = 0.25 = 1/4,
    a softmax over beats of s.b / tau1), aggregation gamma2 = 5 (log-sum-exp over sentences), and pair
    scale gamma3 = 10 (the paper's tau2 = 0.1 = 1/10). Reports with no sentence are dropped together
    with their own ECG, so the remaining pairs stay aligned.

    sentence_embeds (B, S, E), sentence_mask (B, S) bool, beat_embeds (B, Q, E) -> scalar.
    """
    has_sentence = sentence_mask.any(dim=1)  # (B,)
    if int(has_sentence.sum()) < 2:  # no negatives: nothing to contrast; keep the graph connected
        return (sentence_embeds.sum() + beat_embeds.sum()) * 0.0
    sentences, mask, beats = sentence_embeds[has_sentence], sentence_mask[has_sentence], beat_embeds[has_sentence]
    scores = torch.einsum("tsd,eqd->tesq", sentences, beats)  # (T, E, S, Q), T == E
    # GLoRIA's attention: normalise over sentences first, then sharpen with gamma1 over beats.
    scores = scores.masked_fill(~mask[:, None, :, None], float("-inf"))
    attention = torch.softmax(torch.softmax(scores, dim=2) * cfg.attention_temperature, dim=3)  # (T, E, S, Q)
    context = torch.einsum("tesq,eqd->tesd", attention, beats)  # (T, E, S, D)
    cosines = F.cosine_similarity(sentences.unsqueeze(1), context, dim=-1)  # (T, E, S)
    cosines = (cfg.aggregation_temperature * cosines).masked_fill(~mask[:, None, :], float("-inf"))
    pair_scores = cfg.local_temperature * torch.logsumexp(cosines, dim=2)  # (T, E)
    targets = torch.arange(len(pair_scores), device=pair_scores.device)
    return (F.cross_entropy(pair_scores, targets) + F.cross_entropy(pair_scores.T, targets)) / 2


class MelpLoss(nn.Module):
    """outputs of ``MelpModel.forward`` -> dict(loss, loss_rhythm, loss_token, loss_beat).

    The rhythm loss gathers ECG and text embeddings from every DDP rank (with gradients), so every
    rank's batch is a negative for every other.
    """

    def __init__(self, config: MelpConfig) -> None:
        super().__init__()
        self.cfg = config.loss

    def forward(self, outputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        logit_scale = outputs["logit_scale"].clamp(max=self.cfg.max_logit_scale)
        loss_rhythm = clip_loss(all_gather_with_grad(outputs["ecg_embeds"]),
                                all_gather_with_grad(outputs["text_embeds"]), logit_scale)
        loss_token = caption_loss(outputs["caption_logits"], outputs["caption_labels"])
        loss_beat = beat_sentence_loss(outputs["sentence_embeds"], outputs["sentence_mask"],
                                       outputs["beat_embeds"], self.cfg)
        total = (self.cfg.rhythm_weight * loss_rhythm + self.cfg.token_weight * loss_token
                 + self.cfg.beat_weight * loss_beat)
        return {"loss": total, "loss_rhythm": loss_rhythm, "loss_token": loss_token, "loss_beat": loss_beat}
