"""MELP's three alignment losses (rhythm CLIP, token captioning, beat-sentence), returned as named terms."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from melp.config import LossConfig, MelpConfig
from melp.distributed import all_gather_with_grad

IGNORE_INDEX = -100  # caption_labels value for padding (torch cross_entropy's default ignore_index)
ABSENT_LOGIT = -1.0e4  # logit of a padding heartbeat: exp() is 0 in float32, yet gradients stay finite


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
                       cfg: LossConfig, beat_mask: torch.Tensor | None = None) -> torch.Tensor:
    """Local sentence-beat contrastive loss in the GLoRIA form (paper eqs. 2-5, official code).

    For every (report t, ECG e) pair, each sentence attends over e's beats and is compared with its
    attended context; the per-sentence cosines are pooled into one pair score, and a symmetric
    cross-entropy over the batch aligns report i with ECG i.

    Temperatures as the official code: attention sharpness gamma1 = 4 (the paper's tau1 = 0.25 = 1/4,
    a softmax over beats of s.b / tau1), aggregation gamma2 = 5 (log-sum-exp over sentences), and pair
    scale gamma3 = 10 (the paper's tau2 = 0.1 = 1/10). Reports with no sentence, and ECGs with no beat
    (``beat_mask``: heartbeats vary in number, padding is False), are dropped together with their pair.

    sentence_embeds (B, S, E), sentence_mask (B, S) bool, beat_embeds (B, Q, E), beat_mask (B, Q) -> scalar.
    """
    if beat_mask is None:
        beat_mask = torch.ones(beat_embeds.shape[:2], dtype=torch.bool, device=beat_embeds.device)
    usable = sentence_mask.any(dim=1) & beat_mask.any(dim=1)  # (B,)
    if int(usable.sum()) < 2:  # no negatives: nothing to contrast; keep the graph connected
        return (sentence_embeds.sum() + beat_embeds.sum()) * 0.0
    sentences, mask = sentence_embeds[usable], sentence_mask[usable]
    beats, beats_present = beat_embeds[usable], beat_mask[usable]
    scores = torch.einsum("tsd,eqd->tesq", sentences, beats)  # (T, E, S, Q), T == E
    # GLoRIA's attention: normalise over sentences first, then sharpen with gamma1 over beats.
    scores = scores.masked_fill(~mask[:, None, :, None], float("-inf"))
    over_sentences = torch.softmax(scores, dim=2) * cfg.attention_temperature  # (T, E, S, Q)
    over_sentences = over_sentences.masked_fill(~beats_present[None, :, None, :], float("-inf"))
    attention = torch.softmax(over_sentences, dim=3)  # (T, E, S, Q)
    context = torch.einsum("tesq,eqd->tesd", attention, beats)  # (T, E, S, D)
    cosines = F.cosine_similarity(sentences.unsqueeze(1), context, dim=-1)  # (T, E, S)
    cosines = (cfg.aggregation_temperature * cosines).masked_fill(~mask[:, None, :], float("-inf"))
    pair_scores = cfg.local_temperature * torch.logsumexp(cosines, dim=2)  # (T, E)
    targets = torch.arange(len(pair_scores), device=pair_scores.device)
    return (F.cross_entropy(pair_scores, targets) + F.cross_entropy(pair_scores.T, targets)) / 2


def grounding_loss(sentence_embeds: torch.Tensor, sentence_kinds: torch.Tensor, heartbeat_embeds: torch.Tensor,
                   heartbeat_types: torch.Tensor, scale: float) -> torch.Tensor:
    """Weak supervision of where each sentence points, on records whose heartbeat kinds are known.

    The softmax over a record's heartbeats of ``scale`` x cos(sentence, heartbeat) should put its mass
    on the heartbeats of the kind the sentence names (-log of that mass), and be flat for a sentence
    about the whole recording (KL divergence from uniform); the two terms' means are added. Not in the paper: MELP's beat queries
    have no heartbeat to point at.

    sentence_embeds (B, S, E); sentence_kinds (B, S) long: heartbeat type code a sentence names, 0 = the
    whole recording, -1 = no sentence (``melp.grounding``); heartbeat_embeds (B, K, E); heartbeat_types
    (B, K) long: -1 padding, 0 unknown, else a type code (``melp.data.heartbeats``). Records with any
    unknown heartbeat, fewer than two heartbeats, and sentences naming a kind the record lacks are left out.
    """
    present = heartbeat_types >= 0  # (B, K)
    known = (present.sum(dim=1) >= 2) & ~((heartbeat_types == 0) & present).any(dim=1)  # (B,)
    cosines = torch.einsum("bsd,bkd->bsk", F.normalize(sentence_embeds, dim=-1),
                           F.normalize(heartbeat_embeds, dim=-1))  # (B, S, K)
    # finite fills, not -inf: left-out rows may have no heartbeat, and -inf there would turn gradients NaN
    log_probs = torch.log_softmax((scale * cosines).masked_fill(~present[:, None, :], ABSENT_LOGIT), dim=-1)
    named = (heartbeat_types[:, None, :] == sentence_kinds[:, :, None]) & (sentence_kinds[:, :, None] > 0)
    pointing = (sentence_kinds > 0) & named.any(dim=-1) & known[:, None]  # (B, S)
    flat = (sentence_kinds == 0) & known[:, None]
    terms = []
    if pointing.any():
        mass = torch.logsumexp(log_probs.masked_fill(~named, ABSENT_LOGIT), dim=-1)  # (B, S)
        terms.append(-mass[pointing])
    if flat.any():
        count = present.sum(dim=1, keepdim=True).clamp(min=1).to(log_probs.dtype)  # (B, 1)
        kl_from_uniform = -(log_probs.masked_fill(~present[:, None, :], 0.0).sum(dim=-1) / count) - count.log()
        terms.append(kl_from_uniform[flat])
    if not terms:
        return (sentence_embeds.sum() + heartbeat_embeds.sum()) * 0.0
    # each term averaged on its own: the few sentences naming an ectopic beat are not drowned by the rest
    return torch.stack([term.mean() for term in terms]).sum()


class MelpLoss(nn.Module):
    """outputs of ``MelpModel.forward`` -> dict(loss, loss_rhythm, loss_token, loss_beat, loss_grounding).

    The rhythm loss gathers ECG and text embeddings from every DDP rank (with gradients), so every
    rank's batch is a negative for every other. With heartbeat embeddings in the outputs the beat loss
    runs over heartbeats, and the grounding loss (``cfg.grounding_weight``) needs ``sentence_kinds`` and
    ``heartbeat_types`` there too (``train.builders.PretrainStep`` adds them).
    """

    def __init__(self, config: MelpConfig) -> None:
        super().__init__()
        self.cfg = config.loss

    def forward(self, outputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        logit_scale = outputs["logit_scale"].clamp(max=self.cfg.max_logit_scale)
        loss_rhythm = clip_loss(all_gather_with_grad(outputs["ecg_embeds"]),
                                all_gather_with_grad(outputs["text_embeds"]), logit_scale)
        loss_token = caption_loss(outputs["caption_logits"], outputs["caption_labels"])
        heartbeats = "heartbeat_embeds" in outputs
        beats = outputs["heartbeat_embeds"] if heartbeats else outputs["beat_embeds"]
        loss_beat = beat_sentence_loss(outputs["sentence_embeds"], outputs["sentence_mask"], beats, self.cfg,
                                       outputs.get("heartbeat_mask"))
        total = (self.cfg.rhythm_weight * loss_rhythm + self.cfg.token_weight * loss_token
                 + self.cfg.beat_weight * loss_beat)
        terms = {"loss_rhythm": loss_rhythm, "loss_token": loss_token, "loss_beat": loss_beat}
        if heartbeats and self.cfg.grounding_weight > 0 and "sentence_kinds" in outputs:
            loss_grounding = grounding_loss(outputs["sentence_embeds"], outputs["sentence_kinds"], beats,
                                            outputs["heartbeat_types"], self.cfg.grounding_scale)
            total = total + self.cfg.grounding_weight * loss_grounding
            terms["loss_grounding"] = loss_grounding
        return {"loss": total, **terms}
