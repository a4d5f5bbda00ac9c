"""MelpModel: wires the ECG tower, the text tower and the caption decoder together (tensor level).

Record-level calls (encode_ecg, zero_shot, generate_report, explain, ...) come from ``InferenceMixin``.
"""
from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import nn

from melp.checkpoint import load_pretrained, save_pretrained
from melp.config import MelpConfig
from melp.provenance import Provenance, provenance
from melp.inference import InferenceMixin
from melp.models.decoder import CaptionDecoder
from melp.models.ecg_tower import EcgTower, token_times
from melp.models.text_encoder import TextEncoder


class MelpModel(InferenceMixin, nn.Module):
    """ECG tower ``ecg_encoder``, text tower ``text_encoder``, caption decoder ``decoder``, CLIP logit scale."""

    config_class = MelpConfig

    def __init__(self, config: MelpConfig) -> None:
        super().__init__()
        self.config = config
        self.ecg_encoder = EcgTower(config)
        self.text_encoder = TextEncoder(config.text, config.embed_dim)
        tokenizer = self.text_encoder.tokenizer
        # The report is [CLS] words [SEP]: the tokenizer's own CLS/SEP serve as the decoder's BOS/EOS.
        self.decoder = CaptionDecoder(config.decoder, vocab_size=len(tokenizer), caption_width=config.decoder.width,
                                      pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.cls_token_id,
                                      eos_token_id=tokenizer.sep_token_id)
        # Stored as log(1 / temperature), as CLIP; MelpLoss clamps exp() at loss.max_logit_scale.
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1.0 / config.loss.init_temperature)))
        self.name_or_path: str | None = None  # the folder it was loaded from (from_pretrained sets it)
        self.calibration = None  # melp.calibration.Calibration saved beside the checkpoint, if any

    @property
    def provenance(self) -> Provenance:
        """Where this model came from: folder, content fingerprint, model card's 'Trained on' line, melp version."""
        return provenance(self)

    @property
    def tokenizer(self):
        return self.text_encoder.tokenizer

    @property
    def device(self) -> torch.device:
        return self.logit_scale.device

    def token_times(self) -> torch.Tensor:
        """(L,) time in seconds of the centre of each encoder token's receptive field in the input window."""
        return token_times(self.config)

    @property
    def pools_heartbeats(self) -> bool:
        """True when the ECG tower has one embedding per heartbeat (``pooler.heartbeat_pooling``)."""
        return self.ecg_encoder.heartbeat_pooler is not None

    def tokenize(self, texts: list[str], max_length: int | None = None) -> dict[str, torch.Tensor]:
        """Reports -> input_ids, attention_mask (B, L) on the model's device (normalised once, here)."""
        encoded = self.text_encoder.tokenize(list(texts), max_length)
        return {name: tensor.to(self.device) for name, tensor in encoded.items()}

    def encode_ecg_tensors(self, signals: torch.Tensor, lead_mask: torch.Tensor | None = None,
                           heartbeats: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """(B, 12, T) preprocessed signals -> rhythm (B, E), beats (B, Q, E), probe_features (B, E),
        caption_tokens (B, Qc, Dc), beat_attention (B, Q, L), caption_attention (B, Qc, L), encoder_x, cnn_features;
        with ``heartbeats`` (B, K) R peaks at the input rate (negative = none) and heartbeat pooling, also
        heartbeat_embeds (B, K, E), heartbeat_mask (B, K) and heartbeat_attention (B, K, L)."""
        expected = self.config.input_samples
        if signals.ndim != 3 or signals.shape[1] != self.config.ecg.in_leads or signals.shape[2] != expected:
            raise ValueError(f"encode_ecg_tensors: signals have shape {tuple(signals.shape)}, expected "
                             f"(B, {self.config.ecg.in_leads}, {expected}); run melp.preprocess with the model's "
                             "config.preprocess first")
        return self.ecg_encoder(signals.float(), lead_mask, heartbeats)

    def encode_text_tensors(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> dict[str, torch.Tensor]:
        """-> text_embeds (B, E) L2-normalised, sentence_embeds (B, S, E), sentence_mask (B, S), token_states."""
        return self.text_encoder(input_ids, attention_mask)

    def forward(self, signals: torch.Tensor, lead_mask: torch.Tensor | None, input_ids: torch.Tensor,
                attention_mask: torch.Tensor, caption_ids: torch.Tensor | None = None,
                caption_mask: torch.Tensor | None = None,
                heartbeats: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Everything ``MelpLoss`` needs for a batch of ECG-report pairs.

        The text tower reads ``input_ids``; the decoder is taught ``caption_ids`` (default: the same text),
        so the contrastive text may be a part of the report while the caption stays whole. With
        ``heartbeats`` (B, K) and heartbeat pooling the beat-sentence loss runs over heartbeats.
        """
        if caption_ids is None:
            caption_ids, caption_mask = input_ids, attention_mask
        ecg = self.encode_ecg_tensors(signals, lead_mask, heartbeats)
        text = self.encode_text_tensors(input_ids, attention_mask)
        # Teacher forcing: read tokens 0..L-2, predict 1..L-1; logits only where the target is a real token.
        targets = caption_mask[:, 1:] != 0  # (B, L-1)
        caption_logits, _ = self.decoder(caption_ids[:, :-1], ecg["caption_tokens"],
                                         attention_mask=caption_mask[:, :-1], output_mask=targets)  # (N, V)
        caption_labels = caption_ids[:, 1:][targets]  # (N,)
        heartbeat_outputs = ({"heartbeat_embeds": ecg["heartbeat_embeds"], "heartbeat_mask": ecg["heartbeat_mask"]}
                             if "heartbeat_embeds" in ecg else {})
        return {
            **heartbeat_outputs,
            "ecg_embeds": ecg["rhythm"],
            "text_embeds": text["text_embeds"],
            "beat_embeds": ecg["beats"],
            "sentence_embeds": text["sentence_embeds"],
            "sentence_mask": text["sentence_mask"],
            "caption_logits": caption_logits,
            "caption_labels": caption_labels,
            "logit_scale": self.logit_scale.exp(),
        }

    def save_pretrained(self, directory: str | Path) -> Path:
        """config.json + model.safetensors (+ tokenizer); see ``melp.checkpoint.save_pretrained``."""
        return save_pretrained(self, directory)

    @classmethod
    def from_pretrained(cls, directory: str | Path, device: str | torch.device | None = None,
                        overrides: dict | None = None) -> "MelpModel":
        """Rebuild a model saved with ``save_pretrained`` (``overrides``: MelpConfig fields that add modules,
        for a warm start); see ``melp.checkpoint.load_pretrained``."""
        return load_pretrained(directory, cls, device, overrides)
