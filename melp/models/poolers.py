"""Attentional pooler (CoCa style): learned queries cross-attend to the encoder tokens."""
from __future__ import annotations

import torch
from torch import nn


class AttentionalPooler(nn.Module):
    """(B, L, Dk) tokens -> (B, Q, D) pooled queries and their (B, Q, L) attention, averaged over heads."""

    def __init__(self, width: int, context_width: int, heads: int, n_queries: int) -> None:
        super().__init__()
        self.query = nn.Parameter(torch.randn(n_queries, width) * width**-0.5)  # (Q, D)
        # kdim != width stores separate q/k/v_proj_weight; kdim == width one packed in_proj_weight.
        self.attn = nn.MultiheadAttention(width, heads, kdim=context_width, vdim=context_width, batch_first=True)
        self.ln_q = nn.LayerNorm(width)
        self.ln_k = nn.LayerNorm(context_width)

    def forward(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        keys = self.ln_k(tokens)  # (B, L, Dk)
        queries = self.ln_q(self.query).unsqueeze(0).expand(tokens.shape[0], -1, -1)  # (B, Q, D)
        pooled, attention = self.attn(queries, keys, keys, need_weights=True, average_attn_weights=True)
        return pooled, attention  # (B, Q, D), (B, Q, L)
