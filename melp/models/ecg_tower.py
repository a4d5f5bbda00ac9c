"""The ECG tower: encoder + beat pooler/projection (rhythm, beats) + caption pooler (decoder memory),
and, when the config asks for it, one embedding per heartbeat.

The encoder, poolers and projection are exactly what the released MELP_Encoder checkpoint holds
(official-encoder.md §3 steps 6-10); the heartbeat pooler is this project's addition (off there).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from melp.config import MelpConfig
from melp.models.ecg_encoder import EcgEncoder
from melp.models.poolers import AttentionalPooler, heartbeat_windows


def token_times(config: MelpConfig) -> torch.Tensor:
    """(L,) time in seconds of the centre of each encoder token's receptive field in the input window."""
    starts = torch.arange(config.ecg_tokens, dtype=torch.float32) * config.samples_per_token  # (L,)
    return (starts + (config.receptive_field - 1) / 2) / float(config.preprocess["fs"])


class EcgTower(nn.Module):
    """(B, C, T) signals -> rhythm (B, E) L2-normalised, beats (B, Q, E), probe_features (B, E),
    caption_tokens (B, Qc, Dc), beat/caption attention over time tokens, encoder_x, cnn_features;
    with ``heartbeats`` (B, K) and heartbeat pooling also heartbeat_embeds (B, K, E), heartbeat_mask
    (B, K) and heartbeat_attention (B, K, L)."""

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
        self.heartbeat_pooler: AttentionalPooler | None = None
        if config.pooler.heartbeat_pooling:
            self.heartbeat_pooler = AttentionalPooler(embed_dim, width, config.pooler.heads, 1)
            self.heartbeat_norm = nn.LayerNorm(embed_dim)
        self.heartbeat_window = tuple(config.pooler.heartbeat_window)
        self.fs = float(config.preprocess["fs"])
        self.register_buffer("token_times", token_times(config), persistent=False)  # (L,)

    def forward(self, signals: torch.Tensor, lead_mask: torch.Tensor | None = None,
                heartbeats: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        encoded = self.encoder(signals, lead_mask)
        encoder_x = encoded["encoder_x"]  # (B, L, D)
        beat_pooled, beat_attention = self.beat_pooler(encoder_x)  # (B, Q, E), (B, Q, L)
        beat_pooled = self.beat_norm(beat_pooled)
        beats = beat_pooled @ self.beat_proj  # (B, Q, E)
        caption_pooled, caption_attention = self.caption_pooler(encoder_x)  # (B, Qc, Dc), (B, Qc, L)
        outputs = {
            "rhythm": F.normalize(beats.mean(dim=1), dim=-1),  # (B, E)
            "beats": beats,
            "probe_features": beat_pooled.mean(dim=1),  # (B, E) paper §3.4: pre-projection, averaged
            "caption_tokens": self.caption_norm(caption_pooled),  # (B, Qc, Dc)
            "beat_attention": beat_attention,
            "caption_attention": caption_attention,
            "encoder_x": encoder_x,
            "cnn_features": encoded["cnn_features"],  # (B, L, C')
        }
        if self.heartbeat_pooler is not None and heartbeats is not None:
            outputs.update(self._heartbeats(encoder_x, heartbeats))
        return outputs

    def _heartbeats(self, encoder_x: torch.Tensor, heartbeats: torch.Tensor) -> dict[str, torch.Tensor]:
        valid, inside = heartbeat_windows(heartbeats, self.token_times, self.fs, self.heartbeat_window)
        pooled, attention = self.heartbeat_pooler(encoder_x, allowed=inside)  # (B, K, E), (B, K, L)
        embeds = self.heartbeat_norm(pooled) @ self.beat_proj  # (B, K, E), the beats' space
        return {"heartbeat_embeds": embeds * valid.unsqueeze(-1), "heartbeat_mask": valid,
                "heartbeat_attention": attention * valid.unsqueeze(-1)}
