"""Load the released MELP_Encoder safetensors into the paper preset's ECG tower.

Key map (official -> ours; ``E.`` = ``ecg_encoder.``, ``W.`` = ``ecg_encoder.ecg_encoder.``):

==============================================================  ==============================================
official                                                        EcgTower
==============================================================  ==============================================
W.feature_extractor.conv_layers.{i}.0.weight                    encoder.feature_extractor.layers.{i}.conv.weight
W.feature_extractor.conv_layers.0.2.{weight,bias} (GroupNorm)   encoder.feature_extractor.layers.0.norm.*
W.layer_norm.*                                                  encoder.feature_norm.*
W.post_extract_proj.*                                           encoder.feature_proj.*
W.conv_pos.pos_conv.0.bias                                      encoder.pos_conv.conv.bias
W.conv_pos.pos_conv.0.parametrizations.weight.original0 | weight_g   encoder.pos_conv.conv.parametrizations.weight.original0
W.conv_pos.pos_conv.0.parametrizations.weight.original1 | weight_v   encoder.pos_conv.conv.parametrizations.weight.original1
W.encoder.layer_norm.*                                          encoder.encoder_norm.*
W.encoder.layers.{i}.self_attn.{q,k,v,out}_proj.*               encoder.layers.{i}.attention.{q,k,v,out}_proj.*
W.encoder.layers.{i}.self_attn_layer_norm.*                     encoder.layers.{i}.attention_norm.*
W.encoder.layers.{i}.fc1.* / fc2.*                              encoder.layers.{i}.fc1.* / fc2.*
W.encoder.layers.{i}.final_layer_norm.*                         encoder.layers.{i}.ffn_norm.*
E.attn_pool_contrast.*  (query, attn.*, ln_q, ln_k)             beat_pooler.*
E.ln_contrast.*                                                 beat_norm.*
E.proj_contrast   (right-multiplied, not transposed)            beat_proj
E.attn_pool_caption.*                                           caption_pooler.*
E.ln_caption.*                                                  caption_norm.*
==============================================================  ==============================================

Pretraining-only keys (quantizer, project_q, final_proj, mask_emb, logit_scale, bn) are ignored and logged.
"""
from __future__ import annotations

import logging
import re
from pathlib import Path

import torch
from safetensors.torch import load_file
from torch import nn

from melp.config import MelpConfig
from melp.models.ecg_tower import EcgTower
from melp.precision import PrecisionTower, resolve

logger = logging.getLogger(__name__)

OFFICIAL_BEAT_QUERIES = 14  # official-encoder.md §1: the released weights have 14 contrast queries
_TOP = "ecg_encoder."
_BACKBONE = "ecg_encoder.ecg_encoder."

# (regex on the official key, replacement) applied in order; the first match wins.
_KEY_MAP: tuple[tuple[str, str], ...] = (
    (r"^W\.feature_extractor\.conv_layers\.(\d+)\.0\.weight$", r"encoder.feature_extractor.layers.\1.conv.weight"),
    (r"^W\.feature_extractor\.conv_layers\.0\.2\.(weight|bias)$", r"encoder.feature_extractor.layers.0.norm.\1"),
    (r"^W\.layer_norm\.(weight|bias)$", r"encoder.feature_norm.\1"),
    (r"^W\.post_extract_proj\.(weight|bias)$", r"encoder.feature_proj.\1"),
    (r"^W\.conv_pos\.pos_conv\.0\.bias$", r"encoder.pos_conv.conv.bias"),
    (r"^W\.conv_pos\.pos_conv\.0\.(?:parametrizations\.weight\.original0|weight_g)$",
     r"encoder.pos_conv.conv.parametrizations.weight.original0"),
    (r"^W\.conv_pos\.pos_conv\.0\.(?:parametrizations\.weight\.original1|weight_v)$",
     r"encoder.pos_conv.conv.parametrizations.weight.original1"),
    (r"^W\.encoder\.layer_norm\.(weight|bias)$", r"encoder.encoder_norm.\1"),
    (r"^W\.encoder\.layers\.(\d+)\.self_attn\.(q|k|v|out)_proj\.(weight|bias)$",
     r"encoder.layers.\1.attention.\2_proj.\3"),
    (r"^W\.encoder\.layers\.(\d+)\.self_attn_layer_norm\.(weight|bias)$", r"encoder.layers.\1.attention_norm.\2"),
    (r"^W\.encoder\.layers\.(\d+)\.(fc1|fc2)\.(weight|bias)$", r"encoder.layers.\1.\2.\3"),
    (r"^W\.encoder\.layers\.(\d+)\.final_layer_norm\.(weight|bias)$", r"encoder.layers.\1.ffn_norm.\2"),
    (r"^E\.attn_pool_contrast\.(.+)$", r"beat_pooler.\1"),
    (r"^E\.ln_contrast\.(weight|bias)$", r"beat_norm.\1"),
    (r"^E\.proj_contrast$", r"beat_proj"),
    (r"^E\.attn_pool_caption\.(.+)$", r"caption_pooler.\1"),
    (r"^E\.ln_caption\.(weight|bias)$", r"caption_norm.\1"),
)
_UNUSED = re.compile(r"^(W\.(mask_emb|quantizer\..+|project_q\..+|final_proj\..+)|E\.(logit_scale|bn\..+))$")


def _short(key: str) -> str:
    """Official key with its prefix abbreviated to W. (backbone) or E. (wrapper)."""
    if key.startswith(_BACKBONE):
        return "W." + key[len(_BACKBONE):]
    if key.startswith(_TOP):
        return "E." + key[len(_TOP):]
    return key


def map_official_state_dict(official: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], list[str]]:
    """Official state dict -> (EcgTower state dict in fp32, unused pretraining keys)."""
    mapped: dict[str, torch.Tensor] = {}
    unused: list[str] = []
    unknown: list[str] = []
    for key, tensor in official.items():
        short = _short(key)
        if _UNUSED.match(short):
            unused.append(key)
            continue
        for pattern, replacement in _KEY_MAP:
            if re.match(pattern, short):
                mapped[re.sub(pattern, replacement, short)] = tensor.float()
                break
        else:
            unknown.append(key)
    if unknown:
        raise KeyError(f"official encoder: unexpected keys {unknown[:5]} (+{max(0, len(unknown) - 5)} more); "
                       "expected the MELP_Encoder layout of ../shared/docs/official-encoder-keys.txt")
    return mapped, unused


def load_official_encoder(path: str | Path, precision: str = "fp32") -> nn.Module:
    """Read the released MELP_Encoder safetensors (BF16 or fp32) into the paper ECG tower, eval mode.

    Call the result on (B, 12, 5000) float32 signals, min-max normalised, rows in MIMIC lead order.
    ``precision`` "fp32" returns the EcgTower itself; "bf16", "int8" or "auto" wrap it to run at that
    precision with float32 outputs (melp.precision.PrecisionTower).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file; expected the MELP_Encoder model.safetensors")
    mapped, unused = map_official_state_dict(load_file(str(path)))
    config = MelpConfig.preset("paper")
    config.pooler.n_beat_queries = OFFICIAL_BEAT_QUERIES
    tower = EcgTower(config)
    expected = tower.state_dict()
    missing = sorted(set(expected) - set(mapped))
    if missing:
        raise KeyError(f"{path}: missing weights for {missing[:5]} (+{max(0, len(missing) - 5)} more); "
                       "expected every key of ../shared/docs/official-encoder-keys.txt")
    bad_shapes = [(k, tuple(v.shape), tuple(expected[k].shape)) for k, v in mapped.items()
                  if v.shape != expected[k].shape]
    if bad_shapes:
        raise ValueError(f"{path}: shape mismatch (key, found, expected): {bad_shapes[:5]}")
    tower.load_state_dict(mapped, strict=True)
    logger.info("%s: loaded %d tensors; ignored %d pretraining-only keys: %s", path, len(mapped), len(unused),
                ", ".join(unused))
    chosen = resolve(precision, "cpu")
    return tower.float().eval() if chosen == "fp32" else PrecisionTower(tower.float().eval(), chosen).eval()
