"""CoCa-style caption decoder: causal self-attention, cross-attention to the caption tokens, MLP.

The decoder reads the ECG encoder's caption tokens (B, Qc, Dc) and predicts the report one token
at a time over the text tokenizer's vocabulary. The output layer is tied to the token embedding.

A real key/value cache makes generation linear in the number of new tokens: each layer appends
its self-attention keys/values, and the cross-attention keys/values of the caption tokens are
computed once, on the first call, and reused.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

# One layer's cache: (self_keys, self_values, cross_keys, cross_values), each (B, H, L, Dh).
LayerCache = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]
DecoderCache = tuple[LayerCache, ...]

INIT_STD = 0.02  # GPT-2 / CoCa text-tower initialisation
POSITION_INIT_STD = 0.01  # learned positions start small, as in CLIP's text tower


class _Attention(nn.Module):
    """Multi-head attention whose key/value projections can be cached by the caller."""

    def __init__(self, width: int, heads: int, dropout: float) -> None:
        super().__init__()
        if width % heads:
            raise ValueError(f"decoder width {width} is not divisible by heads {heads}; pick heads dividing width")
        self.heads = heads
        self.dropout = dropout
        self.q_proj = nn.Linear(width, width)
        self.k_proj = nn.Linear(width, width)
        self.v_proj = nn.Linear(width, width)
        self.out_proj = nn.Linear(width, width)

    def split_heads(self, states: torch.Tensor) -> torch.Tensor:
        batch, length, width = states.shape
        return states.view(batch, length, self.heads, width // self.heads).transpose(1, 2)  # (B, H, L, Dh)

    def project_kv(self, states: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.split_heads(self.k_proj(states)), self.split_heads(self.v_proj(states))

    def forward(self, queries: torch.Tensor, keys: torch.Tensor, values: torch.Tensor,
                allowed: torch.Tensor | None) -> torch.Tensor:
        query_heads = self.split_heads(self.q_proj(queries))  # (B, H, Lq, Dh)
        dropout = self.dropout if self.training else 0.0
        attended = F.scaled_dot_product_attention(query_heads, keys, values, attn_mask=allowed, dropout_p=dropout)
        batch, _, length, _ = attended.shape
        attended = attended.transpose(1, 2).reshape(batch, length, -1)  # (B, Lq, D)
        return self.out_proj(attended)


class _DecoderLayer(nn.Module):
    """Pre-LN block: causal self-attention, cross-attention to the caption tokens, MLP."""

    def __init__(self, width: int, heads: int, mlp_width: int, dropout: float) -> None:
        super().__init__()
        self.self_attn_norm = nn.LayerNorm(width)
        self.self_attn = _Attention(width, heads, dropout)
        self.cross_attn_norm = nn.LayerNorm(width)
        self.cross_attn = _Attention(width, heads, dropout)
        self.mlp_norm = nn.LayerNorm(width)
        self.mlp = nn.Sequential(nn.Linear(width, mlp_width), nn.GELU(), nn.Linear(mlp_width, width))
        self.residual_dropout = nn.Dropout(dropout)

    def forward(self, hidden: torch.Tensor, caption: torch.Tensor | None, allowed: torch.Tensor,
                cache: LayerCache | None) -> tuple[torch.Tensor, LayerCache]:
        normed = self.self_attn_norm(hidden)
        new_keys, new_values = self.self_attn.project_kv(normed)  # (B, H, L, Dh)
        if cache is None:
            self_keys, self_values = new_keys, new_values
            cross_keys, cross_values = self.cross_attn.project_kv(caption)  # (B, H, Qc, Dh)
        else:
            self_keys = torch.cat([cache[0], new_keys], dim=2)  # (B, H, P + L, Dh)
            self_values = torch.cat([cache[1], new_values], dim=2)
            cross_keys, cross_values = cache[2], cache[3]
        hidden = hidden + self.residual_dropout(self.self_attn(normed, self_keys, self_values, allowed))
        normed = self.cross_attn_norm(hidden)
        hidden = hidden + self.residual_dropout(self.cross_attn(normed, cross_keys, cross_values, None))
        hidden = hidden + self.residual_dropout(self.mlp(self.mlp_norm(hidden)))
        return hidden, (self_keys, self_values, cross_keys, cross_values)


class CaptionDecoder(nn.Module):
    """Autoregressive report decoder conditioned on the caption tokens (CoCa's multimodal decoder).

    ``cfg`` is the model's ``DecoderConfig`` (width, layers, heads, mlp_ratio, max_length, dropout,
    tie_embeddings). Token ids come from the text tokenizer, so BOS/EOS/PAD are passed in, never
    hard-coded. With ``tie_embeddings`` the output layer reuses the token embedding (no extra
    parameters); otherwise a separate bias-free projection ``output_proj`` (D -> V) is learned.
    """

    def __init__(self, cfg, vocab_size: int, caption_width: int, pad_token_id: int,
                 bos_token_id: int, eos_token_id: int) -> None:
        super().__init__()
        self.vocab_size = vocab_size
        self.context_length = cfg.max_length
        self.pad_token_id = pad_token_id
        self.bos_token_id = bos_token_id
        self.eos_token_id = eos_token_id
        width = cfg.width
        mlp_width = int(round(width * cfg.mlp_ratio))
        self.token_embedding = nn.Embedding(vocab_size, width)
        self.position_embedding = nn.Parameter(torch.empty(cfg.max_length, width))  # (Lmax, D)
        self.caption_norm = nn.LayerNorm(caption_width)
        self.caption_proj = nn.Identity() if caption_width == width else nn.Linear(caption_width, width)
        self.embedding_dropout = nn.Dropout(cfg.dropout)
        self.layers = nn.ModuleList(
            _DecoderLayer(width, cfg.heads, mlp_width, cfg.dropout) for _ in range(cfg.layers)
        )
        self.final_norm = nn.LayerNorm(width)
        self.output_proj = None if cfg.tie_embeddings else nn.Linear(width, vocab_size, bias=False)
        self.apply(self._init_weights)
        nn.init.normal_(self.position_embedding, std=POSITION_INIT_STD)
        self._scale_residual_projections(cfg.layers)

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, std=INIT_STD)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, std=INIT_STD)
        elif isinstance(module, nn.LayerNorm):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)

    def _scale_residual_projections(self, n_layers: int) -> None:
        """GPT-2: projections that write into the residual stream start smaller with depth."""
        residual_std = INIT_STD / math.sqrt(2 * n_layers)
        for layer in self.layers:
            for projection in (layer.self_attn.out_proj, layer.cross_attn.out_proj, layer.mlp[-1]):
                nn.init.normal_(projection.weight, std=residual_std)

    def forward(self, input_ids: torch.Tensor, caption_tokens: torch.Tensor,
                attention_mask: torch.Tensor | None = None, past_key_values: DecoderCache | None = None,
                use_cache: bool = False, output_mask: torch.Tensor | None = None,
                ) -> tuple[torch.Tensor, DecoderCache | None]:
        """Next-token logits for ``input_ids`` (B, L); returns (logits (B, L, V), cache or None).

        ``attention_mask`` (B, P + L), 1 for real tokens, covers the cached tokens too. With a cache,
        ``caption_tokens`` is ignored: its keys/values were computed on the first call. ``output_mask``
        (B, L) bool keeps only those positions' logits, flattened to (N, V): the vocabulary projection is
        most of a small decoder's training cost, and padding positions carry no loss.
        """
        past_length = 0 if past_key_values is None else past_key_values[0][0].shape[2]
        length = input_ids.shape[1]
        if past_length + length > self.context_length:
            raise ValueError(
                f"decoder got {past_length + length} tokens, its context_length is {self.context_length}; "
                "lower max_new_tokens or build the model with a longer decoder context_length"
            )
        positions = self._positions(input_ids, attention_mask, past_length)  # (B, L)
        hidden = self.token_embedding(input_ids) + self.position_embedding[positions]  # (B, L, D)
        hidden = self.embedding_dropout(hidden)
        caption = None
        if past_key_values is None:
            caption = self.caption_proj(self.caption_norm(caption_tokens))  # (B, Qc, D)
        allowed = self._self_attention_mask(input_ids, attention_mask, past_length)  # (B|1, 1, L, P + L)
        new_cache = []
        for index, layer in enumerate(self.layers):
            layer_cache = None if past_key_values is None else past_key_values[index]
            hidden, layer_cache = layer(hidden, caption, allowed, layer_cache)
            new_cache.append(layer_cache)
        output_weight = self.token_embedding.weight if self.output_proj is None else self.output_proj.weight
        if output_mask is not None:
            hidden = hidden[output_mask]  # (N, D)
        logits = F.linear(self.final_norm(hidden), output_weight)  # (B, L, V) or (N, V)
        return logits, (tuple(new_cache) if use_cache else None)

    @staticmethod
    def _positions(input_ids: torch.Tensor, attention_mask: torch.Tensor | None, past_length: int) -> torch.Tensor:
        """Position of each new token; with a mask, padding does not advance the position (left padding)."""
        length = input_ids.shape[1]
        if attention_mask is None:
            positions = torch.arange(past_length, past_length + length, device=input_ids.device)
            return positions.unsqueeze(0).expand(input_ids.shape[0], -1)  # (B, L)
        counts = attention_mask.long().cumsum(dim=1) - 1  # (B, P + L)
        return counts[:, -length:].clamp(min=0)  # (B, L)

    @staticmethod
    def _self_attention_mask(input_ids: torch.Tensor, attention_mask: torch.Tensor | None,
                             past_length: int) -> torch.Tensor:
        """Boolean mask, True where a query may attend: causal, minus padded keys, always itself."""
        length = input_ids.shape[1]
        device = input_ids.device
        query_index = torch.arange(past_length, past_length + length, device=device).unsqueeze(1)  # (L, 1)
        key_index = torch.arange(past_length + length, device=device).unsqueeze(0)  # (1, P + L)
        allowed = key_index <= query_index  # (L, P + L)
        if attention_mask is not None:
            if attention_mask.shape != (input_ids.shape[0], past_length + length):
                raise ValueError(
                    f"attention_mask has shape {tuple(attention_mask.shape)}, expected "
                    f"{(input_ids.shape[0], past_length + length)} (batch, cached + new tokens)"
                )
            allowed = allowed & attention_mask.bool()[:, None, :]  # (B, L, P + L)
            allowed = allowed | (key_index == query_index)  # a padded query still sees itself: no NaN rows
        else:
            allowed = allowed.unsqueeze(0)  # (1, L, P + L)
        return allowed.unsqueeze(1)  # (B|1, 1, L, P + L)


def reorder_cache(cache: DecoderCache, beam_index: torch.Tensor) -> DecoderCache:
    """Select cache rows ``beam_index`` (B,) after a beam-search step."""
    return tuple(tuple(state.index_select(0, beam_index) for state in layer) for layer in cache)
