"""The ECG tower: encoder + beat pooler/projection (rhythm, beats) + caption pooler (decoder memory).

This is exactly what the released MELP_Encoder checkpoint holds (official-encoder.md §3 steps 6-10).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from melp.config import MelpConfig
from melp.models.ecg_encoder import EcgEncoder
from melp.models.poolers import AttentionalPooler


class EcgTower(nn.Module):
    """(B, C, T) signals -> rhythm (B, E) L2-normalised, beats (B, Q, E), probe_features (B, E),
    caption_tokens (B, Qc, Dc), beat/caption attention over time tokens, encoder_x, cnn_features."""

    def __init__(self, config: MelpConfig) -> None:
        super().__init__()
        width, embed_dim = config.ecg.width, config.pooler.embed_dim
        self.encoder = EcgEncoder(config.ecg)
        self.beat_pooler = AttentionalPooler(embed_dim, width, config.pooler.heads, config.pooler.n_beat_queries)
        self.beat_norm = nn.LayerNorm(embed_dim)
        # Right-multiplied (beats = pooled @ beat_proj), not an nn.Linear: official proj_contrast layout.
        self.beat_proj = nn.Parameter(torch.randn(embed_dim, embed_dim) * embed_dim**-0.5)  # (E, E)
        self.caption_pooler = AttentionalPooler(config.decoder.width, width, config.pooler.heads,
                                                config.pooler.n_caption_queries)
        self.caption_norm = nn.LayerNorm(config.decoder.width)

    def forward(self, signals: torch.Tensor, lead_mask: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        encoded = self.encoder(signals, lead_mask)
        encoder_x = encoded["encoder_x"]  # (B, L, D)
        beat_pooled, beat_attention = self.beat_pooler(encoder_x)  # (B, Q, E), (B, Q, L)
        beat_pooled = self.beat_norm(beat_pooled)
        beats = beat_pooled @ self.beat_proj  # (B, Q, E)
        caption_pooled, caption_attention = self.caption_pooler(encoder_x)  # (B, Qc, Dc), (B, Qc, L)
        return {
            "rhythm": F.normalize(beats.mean(dim=1), dim=-1),  # (B, E)
            "beats": beats,
            "probe_features": beat_pooled.mean(dim=1),  # (B, E) paper §3.4: pre-projection, averaged
            "caption_tokens": self.caption_norm(caption_pooled),  # (B, Qc, Dc)
            "beat_attention": beat_attention,
            "caption_attention": caption_attention,
            "encoder_x": encoder_x,
            "cnn_features": encoded["cnn_features"],  # (B, L, C')
        }
