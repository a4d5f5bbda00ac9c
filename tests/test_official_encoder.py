"""The released MELP_Encoder layout loads through the documented key map and computes as documented."""
from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

from melp.models.official import load_official_encoder

KEY_LIST = Path(__file__).resolve().parents[2] / "shared" / "docs" / "official-encoder-keys.txt"
W, E = "ecg_encoder.ecg_encoder.", "ecg_encoder."
WIDTH, FFN, CNN, EMBED, N_BEATS, N_CAPTION, N_LAYERS = 768, 3072, 256, 256, 14, 128, 8
POOLER_HEADS, ENCODER_HEADS, SAMPLES = 8, 12, 5000


def official_key_shapes() -> dict[str, tuple[int, ...]]:
    """The 180 tensors of the released checkpoint (official-encoder.md §1)."""
    shapes = {f"{W}feature_extractor.conv_layers.0.0.weight": (CNN, 12, 2),
              f"{W}feature_extractor.conv_layers.0.2.weight": (CNN,), f"{W}feature_extractor.conv_layers.0.2.bias": (CNN,)}
    shapes.update({f"{W}feature_extractor.conv_layers.{i}.0.weight": (CNN, CNN, 2) for i in (1, 2, 3)})
    shapes.update({f"{W}layer_norm.weight": (CNN,), f"{W}layer_norm.bias": (CNN,),
                   f"{W}post_extract_proj.weight": (WIDTH, CNN), f"{W}post_extract_proj.bias": (WIDTH,),
                   f"{W}conv_pos.pos_conv.0.bias": (WIDTH,),
                   f"{W}conv_pos.pos_conv.0.parametrizations.weight.original0": (1, 1, 128),
                   f"{W}conv_pos.pos_conv.0.parametrizations.weight.original1": (WIDTH, 48, 128),
                   f"{W}encoder.layer_norm.weight": (WIDTH,), f"{W}encoder.layer_norm.bias": (WIDTH,)})
    for i in range(N_LAYERS):
        layer = f"{W}encoder.layers.{i}."
        for proj in ("q", "k", "v", "out"):
            shapes[f"{layer}self_attn.{proj}_proj.weight"] = (WIDTH, WIDTH)
            shapes[f"{layer}self_attn.{proj}_proj.bias"] = (WIDTH,)
        shapes.update({f"{layer}fc1.weight": (FFN, WIDTH), f"{layer}fc1.bias": (FFN,),
                       f"{layer}fc2.weight": (WIDTH, FFN), f"{layer}fc2.bias": (WIDTH,)})
        for norm in ("self_attn_layer_norm", "final_layer_norm"):
            shapes.update({f"{layer}{norm}.weight": (WIDTH,), f"{layer}{norm}.bias": (WIDTH,)})
    contrast, caption = f"{E}attn_pool_contrast.", f"{E}attn_pool_caption."
    shapes.update({f"{contrast}query": (N_BEATS, EMBED), f"{contrast}attn.q_proj_weight": (EMBED, EMBED),
                   f"{contrast}attn.k_proj_weight": (EMBED, WIDTH), f"{contrast}attn.v_proj_weight": (EMBED, WIDTH),
                   f"{contrast}attn.in_proj_bias": (3 * EMBED,), f"{contrast}attn.out_proj.weight": (EMBED, EMBED),
                   f"{contrast}attn.out_proj.bias": (EMBED,), f"{contrast}ln_q.weight": (EMBED,),
                   f"{contrast}ln_q.bias": (EMBED,), f"{contrast}ln_k.weight": (WIDTH,), f"{contrast}ln_k.bias": (WIDTH,),
                   f"{E}ln_contrast.weight": (EMBED,), f"{E}ln_contrast.bias": (EMBED,), f"{E}proj_contrast": (EMBED, EMBED),
                   f"{caption}query": (N_CAPTION, WIDTH), f"{caption}attn.in_proj_weight": (3 * WIDTH, WIDTH),
                   f"{caption}attn.in_proj_bias": (3 * WIDTH,), f"{caption}attn.out_proj.weight": (WIDTH, WIDTH),
                   f"{caption}attn.out_proj.bias": (WIDTH,), f"{E}ln_caption.weight": (WIDTH,), f"{E}ln_caption.bias": (WIDTH,)})
    for norm in ("ln_q", "ln_k"):
        shapes.update({f"{caption}{norm}.weight": (WIDTH,), f"{caption}{norm}.bias": (WIDTH,)})
    shapes.update({f"{W}mask_emb": (WIDTH,), f"{W}quantizer.vars": (1, 640, 128),
                   f"{W}quantizer.weight_proj.weight": (640, CNN), f"{W}quantizer.weight_proj.bias": (640,),
                   f"{W}project_q.weight": (CNN, CNN), f"{W}project_q.bias": (CNN,),
                   f"{W}final_proj.weight": (CNN, WIDTH), f"{W}final_proj.bias": (CNN,), f"{E}logit_scale": (),
                   f"{E}bn.running_mean": (WIDTH,), f"{E}bn.running_var": (WIDTH,), f"{E}bn.num_batches_tracked": ()})
    return shapes


def random_official_state(seed: int = 0) -> dict[str, torch.Tensor]:
    """BF16 tensors with trained-like scales: norms near 1, projections ~ 1/sqrt(fan_in)."""
    generator = torch.Generator().manual_seed(seed)
    state = {}
    for key, shape in official_key_shapes().items():
        if key.endswith("num_batches_tracked"):
            state[key] = torch.tensor(7, dtype=torch.int64)
            continue
        values = torch.randn(shape, generator=generator)
        if ("norm" in key or ".ln_" in key or "conv_layers.0.2" in key) and key.endswith("weight"):
            values = 1.0 + 0.1 * values
        elif key.endswith("original0"):
            values = 1.0 + 0.1 * values.abs()
        elif len(shape) >= 2:
            values = values / math.sqrt(math.prod(shape[1:]))
        else:
            values = 0.1 * values
        state[key] = values.to(torch.bfloat16)
    return state


@pytest.fixture(scope="module")
def official_state() -> dict[str, torch.Tensor]:
    return random_official_state()


@pytest.fixture(scope="module")
def official_file(tmp_path_factory, official_state) -> Path:
    path = tmp_path_factory.mktemp("official") / "model.safetensors"
    save_file(official_state, str(path))
    return path


@pytest.fixture(scope="module")
def tower(official_file):
    return load_official_encoder(official_file)


def test_key_list_matches_shared_docs():
    if not KEY_LIST.is_file():
        pytest.skip(f"{KEY_LIST} not present")
    listed = {}
    for line in KEY_LIST.read_text().splitlines():
        key, shape = line.split("\t")
        listed[key] = tuple(int(n) for n in shape.strip("()").split(",") if n.strip())
    assert listed == official_key_shapes()


def test_official_layout_has_documented_parameter_count(official_state):
    counted = sum(t.numel() for k, t in official_state.items() if "bn." not in k)
    assert counted == 65_593_857  # official-encoder.md §1 (bn running stats are buffers)


def test_official_weights_load_without_missing_or_unexpected_keys(tower, official_state):
    loaded = tower.state_dict()
    assert len(loaded) == len(official_state) - 12  # 12 pretraining-only tensors are ignored
    assert loaded["beat_proj"].shape == (EMBED, EMBED)
    assert torch.equal(loaded["beat_proj"], official_state[f"{E}proj_contrast"].float())  # not transposed
    assert loaded["beat_pooler.query"].shape == (N_BEATS, EMBED)
    assert all(t.dtype == torch.float32 for t in loaded.values())
    assert not tower.training


def test_legacy_weight_g_v_spelling_loads_identically(tmp_path, tower, official_state):
    legacy = dict(official_state)
    prefix = f"{W}conv_pos.pos_conv.0."
    legacy[prefix + "weight_g"] = legacy.pop(prefix + "parametrizations.weight.original0")
    legacy[prefix + "weight_v"] = legacy.pop(prefix + "parametrizations.weight.original1")
    save_file(legacy, str(tmp_path / "legacy.safetensors"))
    legacy_tower = load_official_encoder(tmp_path / "legacy.safetensors")
    for key, value in tower.state_dict().items():
        assert torch.equal(value, legacy_tower.state_dict()[key]), key


def test_unknown_key_is_rejected_with_its_name(tmp_path, official_state):
    state = dict(official_state)
    state[f"{W}encoder.layers.0.extra.weight"] = torch.zeros(2, dtype=torch.bfloat16)
    save_file(state, str(tmp_path / "bad.safetensors"))
    with pytest.raises(KeyError, match="extra.weight"):
        load_official_encoder(tmp_path / "bad.safetensors")


def _layer_norm(x: torch.Tensor, state: dict, key: str) -> torch.Tensor:
    return F.layer_norm(x, x.shape[-1:], state[key + ".weight"], state[key + ".bias"], eps=1e-5)


def _attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, heads: int) -> torch.Tensor:
    """softmax(q k^T / sqrt(d)) v per head; (B, Lq, D), (B, Lk, D) -> (B, Lq, D)."""
    batch, lq, width = q.shape
    d = width // heads
    qh, kh, vh = (t.view(batch, -1, heads, d).transpose(1, 2) for t in (q, k, v))
    weights = torch.softmax(qh @ kh.transpose(-1, -2) / math.sqrt(d), dim=-1)
    return (weights @ vh).transpose(1, 2).reshape(batch, lq, width)


def reference_forward(official: dict[str, torch.Tensor], signals: torch.Tensor) -> dict[str, torch.Tensor]:
    """official-encoder.md §3 re-derived step by step from the official state dict."""
    s = {k: v.float() for k, v in official.items()}
    x = signals
    for i in range(4):
        x = F.conv1d(x, s[f"{W}feature_extractor.conv_layers.{i}.0.weight"], stride=2)
        if i == 0:
            x = F.group_norm(x, CNN, s[f"{W}feature_extractor.conv_layers.0.2.weight"],
                             s[f"{W}feature_extractor.conv_layers.0.2.bias"])
        x = F.gelu(x)
    cnn = _layer_norm(x.transpose(1, 2), s, f"{W}layer_norm")
    x = F.linear(cnn, s[f"{W}post_extract_proj.weight"], s[f"{W}post_extract_proj.bias"])
    g = s[f"{W}conv_pos.pos_conv.0.parametrizations.weight.original0"]
    v = s[f"{W}conv_pos.pos_conv.0.parametrizations.weight.original1"]
    weight = g * v / v.norm(dim=(0, 1), keepdim=True)
    pos = F.conv1d(x.transpose(1, 2), weight, s[f"{W}conv_pos.pos_conv.0.bias"], padding=64, groups=16)
    x = x + F.gelu(pos[:, :, :-1]).transpose(1, 2)
    x = _layer_norm(x, s, f"{W}encoder.layer_norm")
    for i in range(N_LAYERS):
        p = f"{W}encoder.layers.{i}."
        q, k, vv = (F.linear(x, s[f"{p}self_attn.{n}_proj.weight"], s[f"{p}self_attn.{n}_proj.bias"]) for n in "qkv")
        attended = F.linear(_attention(q, k, vv, ENCODER_HEADS), s[f"{p}self_attn.out_proj.weight"],
                            s[f"{p}self_attn.out_proj.bias"])
        x = _layer_norm(x + attended, s, f"{p}self_attn_layer_norm")
        hidden = F.gelu(F.linear(x, s[f"{p}fc1.weight"], s[f"{p}fc1.bias"]))
        x = _layer_norm(x + F.linear(hidden, s[f"{p}fc2.weight"], s[f"{p}fc2.bias"]), s, f"{p}final_layer_norm")
    c = f"{E}attn_pool_contrast."
    keys = _layer_norm(x, s, c + "ln_k")
    queries = _layer_norm(s[c + "query"], s, c + "ln_q").expand(len(x), -1, -1)
    bq, bk, bv = s[c + "attn.in_proj_bias"].chunk(3)
    pooled = _attention(F.linear(queries, s[c + "attn.q_proj_weight"], bq), F.linear(keys, s[c + "attn.k_proj_weight"], bk),
                        F.linear(keys, s[c + "attn.v_proj_weight"], bv), POOLER_HEADS)
    pooled = _layer_norm(F.linear(pooled, s[c + "attn.out_proj.weight"], s[c + "attn.out_proj.bias"]), s, f"{E}ln_contrast")
    beats = pooled @ s[f"{E}proj_contrast"]
    cp = f"{E}attn_pool_caption."
    keys = _layer_norm(x, s, cp + "ln_k")
    queries = _layer_norm(s[cp + "query"], s, cp + "ln_q").expand(len(x), -1, -1)
    (wq, wk, wv), (bq, bk, bv) = s[cp + "attn.in_proj_weight"].chunk(3), s[cp + "attn.in_proj_bias"].chunk(3)
    caption = _attention(F.linear(queries, wq, bq), F.linear(keys, wk, bk), F.linear(keys, wv, bv), POOLER_HEADS)
    caption = F.linear(caption, s[cp + "attn.out_proj.weight"], s[cp + "attn.out_proj.bias"])
    return {"encoder_x": x, "cnn_features": cnn, "beats": beats, "probe_features": pooled.mean(1),
            "rhythm": F.normalize(beats.mean(1), dim=-1), "caption_tokens": _layer_norm(caption, s, f"{E}ln_caption")}


def test_forward_matches_step_by_step_rederivation(tower, official_state):
    signals = torch.rand(1, 12, SAMPLES, generator=torch.Generator().manual_seed(1))  # min-max range [0, 1]
    with torch.inference_mode():
        ours = tower(signals)
        expected = reference_forward(official_state, signals)
    assert ours["caption_tokens"].shape == (1, N_CAPTION, WIDTH)
    assert ours["beats"].shape == (1, N_BEATS, EMBED)
    for key, value in expected.items():
        assert ours[key].shape == value.shape, key
        torch.testing.assert_close(ours[key], value, rtol=1e-4, atol=1e-4, msg=key)
    assert torch.allclose(ours["rhythm"].norm(dim=-1), torch.ones(1))
