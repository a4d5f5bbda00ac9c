"""Attentional pooler (CoCa style): learned queries cross-attend to the encoder tokens; and the token
windows of heartbeats, for pooling one embedding per heartbeat."""
from __future__ import annotations

import torch
from torch import nn


class AttentionalPooler(nn.Module):
    """(B, L, Dk) tokens -> (B, Q, D) pooled queries and their (B, Q, L) attention, averaged over heads.

    With ``allowed`` (B, R, L) bool, a pooler of one query pools R times, each over its own tokens
    (True = may attend); every row must allow at least one token.
    """

    def __init__(self, width: int, context_width: int, heads: int, n_queries: int) -> None:
        super().__init__()
        self.query = nn.Parameter(torch.randn(n_queries, width) * width**-0.5)  # (Q, D)
        # kdim != width stores separate q/k/v_proj_weight; kdim == width one packed in_proj_weight.
        self.attn = nn.MultiheadAttention(width, heads, kdim=context_width, vdim=context_width, batch_first=True)
        self.ln_q = nn.LayerNorm(width)
        self.ln_k = nn.LayerNorm(context_width)

    def forward(self, tokens: torch.Tensor, allowed: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        keys = self.ln_k(tokens)  # (B, L, Dk)
        queries = self.ln_q(self.query)  # (Q, D)
        if allowed is None:
            queries = queries.unsqueeze(0).expand(tokens.shape[0], -1, -1)  # (B, Q, D)
            pooled, attention = self.attn(queries, keys, keys, need_weights=True, average_attn_weights=True)
            return pooled, attention  # (B, Q, D), (B, Q, L)
        if queries.shape[0] != 1:
            raise ValueError(f"AttentionalPooler: allowed= needs one query, this pooler has {queries.shape[0]}")
        rows = allowed.shape[1]
        queries = queries.unsqueeze(0).expand(tokens.shape[0], rows, -1)  # (B, R, D)
        blocked = (~allowed).repeat_interleave(self.attn.num_heads, dim=0)  # (B * heads, R, L)
        pooled, attention = self.attn(queries, keys, keys, attn_mask=blocked, need_weights=True,
                                      average_attn_weights=True)
        return pooled, attention  # (B, R, D), (B, R, L)


def heartbeat_windows(heartbeats: torch.Tensor, token_times: torch.Tensor, fs: float,
                      window: tuple[float, float]) -> tuple[torch.Tensor, torch.Tensor]:
    """Which encoder tokens belong to each heartbeat.

    heartbeats (B, K) long R-peak sample indices at ``fs``, negative = padding; token_times (L,) seconds.
    A heartbeat spans from ``window[0]`` s before its R peak (or the midpoint to the previous one, if
    later) to ``window[1]`` s after it (or the midpoint to the next); the token nearest its R peak is
    always in it. Returns valid (B, K) bool and inside (B, K, L) bool; padding rows hold only token 0,
    so attention over them stays finite (their outputs are masked by ``valid``).
    """
    valid = heartbeats >= 0  # (B, K); padding follows the last heartbeat
    r_times = heartbeats.clamp(min=0).to(token_times.dtype) / fs  # (B, K)
    previous = torch.full_like(r_times, float("-inf"))  # R peak of the heartbeat before, -inf for the first
    previous[:, 1:] = r_times[:, :-1]
    following = torch.full_like(r_times, float("inf"))  # R peak of the heartbeat after, +inf for the last
    following[:, :-1] = torch.where(valid[:, 1:], r_times[:, 1:], torch.full_like(r_times[:, 1:], float("inf")))
    start = torch.maximum(r_times - window[0], (previous + r_times) / 2)  # (B, K)
    end = torch.minimum(r_times + window[1], (r_times + following) / 2)
    times = token_times.view(1, 1, -1)  # (1, 1, L)
    inside = (times >= start.unsqueeze(-1)) & (times < end.unsqueeze(-1))  # (B, K, L)
    nearest = (times - r_times.unsqueeze(-1)).abs().argmin(dim=-1, keepdim=True)  # (B, K, 1)
    inside = inside.scatter(-1, nearest, True)
    padding_row = torch.zeros_like(inside[:1, :1])  # (1, 1, L): only token 0
    padding_row[..., 0] = True
    return valid, torch.where(valid.unsqueeze(-1), inside, padding_row)
