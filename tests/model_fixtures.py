"""Tiny MELP configurations for fast CPU tests of the model code."""
from __future__ import annotations

from melp.config import MelpConfig

TINY_BERT = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64,
             "vocab_size": 30522, "max_position_embeddings": 64}


def tiny_config(random_text: bool = False, **text_overrides) -> MelpConfig:
    """Every tower shrunk; 100 Hz x 5 s input -> 31 encoder tokens. MiniLM text tower unless random_text."""
    text = {"frozen_layers": 6, "causal": False, "max_length": 32, **text_overrides}
    if random_text:
        text.update({"architecture": dict(TINY_BERT), "frozen_layers": 1})
    return MelpConfig(
        ecg={"conv_channels": (32, 32, 32, 32), "width": 64, "layers": 2, "heads": 4, "ffn_dim": 128,
             "pos_conv_kernel": 16, "pos_conv_groups": 4, "dropout": 0.0, "attention_dropout": 0.0},
        pooler={"embed_dim": 32, "n_beat_queries": 4, "n_caption_queries": 8, "heads": 4},
        text=text,
        decoder={"width": 32, "layers": 1, "heads": 2, "max_length": 32, "tie_embeddings": True},
        preprocess={"fs": 100.0, "seconds": 5.0},
    )
