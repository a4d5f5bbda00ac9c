"""ECG encoder (wav2vec2 / ECG-FM style): conv features -> conv positional embedding -> post-LN transformer.

Follows ../shared/docs/official-encoder.md §3 step by step; input (B, C, T) -> tokens (B, L, D).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

from melp.config import EcgEncoderConfig

# Weight norm of the positional conv runs over the kernel-tap dimension (g has shape 1 x 1 x K).
POS_CONV_WEIGHT_NORM_DIM = 2
# Floor under a lead's RMS (mV) before the log: a zero-filled (masked or missing) lead reads log(1e-3).
AMPLITUDE_FLOOR_MV = 1e-3


def lead_log_rms(signals: torch.Tensor) -> torch.Tensor:
    """(B, C, T) signals -> (B, C) log of each lead's root-mean-square amplitude (floored)."""
    rms = signals.float().pow(2).mean(dim=-1).sqrt()  # (B, C)
    return torch.log(rms.clamp_min(AMPLITUDE_FLOOR_MV))


class ConvFeatureLayer(nn.Module):
    """One feature-extractor block: Conv1d (no bias) [-> GroupNorm in fp32] -> GELU."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, stride: int, group_norm: bool,
                 dropout: float) -> None:
        super().__init__()
        self.conv = nn.Conv1d(in_channels, out_channels, kernel, stride=stride, bias=False)
        nn.init.kaiming_normal_(self.conv.weight)  # official code (fairseq-signals conv init)
        self.dropout = nn.Dropout(dropout)
        # One group per channel, as the official first block (GroupNorm(256, 256)).
        self.norm = nn.GroupNorm(out_channels, out_channels, affine=True) if group_norm else None

    def forward(self, signals: torch.Tensor) -> torch.Tensor:  # (B, Cin, T) -> (B, Cout, T')
        features = self.dropout(self.conv(signals))
        if self.norm is not None:
            features = F.group_norm(features.float(), self.norm.num_groups, self.norm.weight.float(),
                                    self.norm.bias.float(), self.norm.eps).type_as(features)
        return F.gelu(features)


class ConvFeatureExtractor(nn.Module):
    """The conv stack: GroupNorm on the first block only (official 'default' extractor mode)."""

    def __init__(self, cfg: EcgEncoderConfig) -> None:
        super().__init__()
        in_channels = (cfg.in_leads, *cfg.conv_channels[:-1])
        self.layers = nn.ModuleList(
            ConvFeatureLayer(c_in, c_out, k, s, group_norm=(i == 0), dropout=0.0)
            for i, (c_in, c_out, k, s) in enumerate(zip(in_channels, cfg.conv_channels, cfg.conv_kernels,
                                                        cfg.conv_strides))
        )

    def forward(self, signals: torch.Tensor) -> torch.Tensor:  # (B, C, T) -> (B, C', L)
        features = signals
        for layer in self.layers:
            features = layer(features)
        return features


class PositionalConvEmbedding(nn.Module):
    """Grouped Conv1d with weight norm over kernel taps, SamePad trim for even kernels, GELU."""

    def __init__(self, width: int, kernel: int, groups: int, dropout: float) -> None:
        super().__init__()
        conv = nn.Conv1d(width, width, kernel, padding=kernel // 2, groups=groups)
        std = math.sqrt(4 * (1.0 - dropout) / (kernel * width))  # official code (wav2vec2 pos_conv init)
        nn.init.normal_(conv.weight, mean=0.0, std=std)
        nn.init.zeros_(conv.bias)
        # Parametrized weight norm: state-dict keys conv.parametrizations.weight.original0 (g, 1x1xK)
        # and original1 (v, D x D/groups x K), the layout of the released checkpoint.
        self.conv = weight_norm(conv, name="weight", dim=POS_CONV_WEIGHT_NORM_DIM)
        self.trim = 1 if kernel % 2 == 0 else 0

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:  # (B, L, D) -> (B, L, D)
        positions = self.conv(tokens.transpose(1, 2))  # (B, D, L + trim)
        if self.trim:
            positions = positions[:, :, : -self.trim]
        return F.gelu(positions).transpose(1, 2)


class SelfAttention(nn.Module):
    """Multi-head self-attention with separate q/k/v projections (fairseq layout)."""

    def __init__(self, width: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.heads = heads
        self.dropout = dropout
        self.q_proj = nn.Linear(width, width)
        self.k_proj = nn.Linear(width, width)
        self.v_proj = nn.Linear(width, width)
        self.out_proj = nn.Linear(width, width)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:  # (B, L, D) -> (B, L, D)
        batch, length, width = tokens.shape
        def split(x: torch.Tensor) -> torch.Tensor:
            return x.view(batch, length, self.heads, width // self.heads).transpose(1, 2)  # (B, h, L, d)
        attended = F.scaled_dot_product_attention(
            split(self.q_proj(tokens)), split(self.k_proj(tokens)), split(self.v_proj(tokens)),
            dropout_p=self.dropout if self.training else 0.0,
        )  # (B, h, L, d)
        return self.out_proj(attended.transpose(1, 2).reshape(batch, length, width))


class EncoderLayer(nn.Module):
    """Post-LN transformer layer: x = LN(x + MHA(x)); x = LN(x + FFN(x)), FFN GELU in fp32."""

    def __init__(self, cfg: EcgEncoderConfig) -> None:
        super().__init__()
        self.attention = SelfAttention(cfg.width, cfg.heads, cfg.attention_dropout)
        self.attention_norm = nn.LayerNorm(cfg.width, eps=cfg.layer_norm_eps)
        self.fc1 = nn.Linear(cfg.width, cfg.ffn_dim)
        self.fc2 = nn.Linear(cfg.ffn_dim, cfg.width)
        self.ffn_norm = nn.LayerNorm(cfg.width, eps=cfg.layer_norm_eps)
        self.dropout = nn.Dropout(cfg.dropout)
        self.activation_dropout = nn.Dropout(cfg.activation_dropout)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:  # (B, L, D)
        tokens = self.attention_norm(tokens + self.dropout(self.attention(tokens)))
        hidden = F.gelu(self.fc1(tokens).float()).type_as(tokens)  # (B, L, F)
        return self.ffn_norm(tokens + self.dropout(self.fc2(self.activation_dropout(hidden))))


class EcgEncoder(nn.Module):
    """Signals (B, C, T) -> encoder tokens (B, L, D) and the normalised CNN features (B, L, C')."""

    def __init__(self, cfg: EcgEncoderConfig) -> None:
        super().__init__()
        self.feature_extractor = ConvFeatureExtractor(cfg)
        self.feature_norm = nn.LayerNorm(cfg.conv_channels[-1], eps=cfg.layer_norm_eps)
        self.feature_proj = nn.Linear(cfg.conv_channels[-1], cfg.width)
        # Optional amplitude path (config.amplitude_input): per-lead log RMS -> a vector added to every token;
        # zero-initialised so training starts from the plain encoder.
        self.amplitude_proj = nn.Linear(cfg.in_leads, cfg.width) if cfg.amplitude_input else None
        if self.amplitude_proj is not None:
            nn.init.zeros_(self.amplitude_proj.weight)
            nn.init.zeros_(self.amplitude_proj.bias)
        self.pos_conv = PositionalConvEmbedding(cfg.width, cfg.pos_conv_kernel, cfg.pos_conv_groups, cfg.dropout)
        # Applied BEFORE the layers (official layer_norm_first=False); there is no final LayerNorm.
        self.encoder_norm = nn.LayerNorm(cfg.width, eps=cfg.layer_norm_eps)
        self.dropout = nn.Dropout(cfg.dropout)
        self.layers = nn.ModuleList(EncoderLayer(cfg) for _ in range(cfg.layers))

    def forward(self, signals: torch.Tensor, lead_mask: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """``lead_mask`` (B, C) bool zero-fills missing leads, as the official lead-masking trains for."""
        if lead_mask is not None:
            signals = signals * lead_mask.to(signals.dtype).unsqueeze(-1)  # (B, C, T)
        cnn_features = self.feature_norm(self.feature_extractor(signals).transpose(1, 2))  # (B, L, C')
        tokens = self.feature_proj(cnn_features)  # (B, L, D)
        if self.amplitude_proj is not None:
            tokens = tokens + self.amplitude_proj(lead_log_rms(signals)).unsqueeze(1).type_as(tokens)
        tokens = tokens + self.pos_conv(tokens)
        tokens = self.dropout(self.encoder_norm(tokens))
        for layer in self.layers:
            tokens = layer(tokens)
        return {"encoder_x": tokens, "cnn_features": cnn_features}
