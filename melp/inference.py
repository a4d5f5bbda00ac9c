"""The inference API of ``MelpModel``: records and strings in, numpy arrays and strings out.

Every method accepts one ``EcgRecord`` or a list where records are taken, preprocesses through
``melp.data.preprocess`` (the one preprocessing path), batches internally and runs under
``torch.inference_mode``. Tensors never leave this module.

Long records (``window=``):
- ``"first"`` (default): the first ``config.preprocess["seconds"]`` of the record, as the paper.
- ``"all"``: every non-overlapping window (``melp.windows``); embeddings and features are averaged
  over the windows (embeddings renormalised), zero-shot scores are averaged.
- ``"best"`` (zero-shot only): for each prompt, the best-matching window's score, which catches
  a finding present in only part of a long recording.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F

from melp.data.preprocess import PreprocessConfig, preprocess_batch, windows
from melp.embeddings import EcgEmbeddings
from melp.generation import GenerationConfig, generate
from melp.record import EcgRecord
from melp.content_cache import ContentCache, content_key

if TYPE_CHECKING:
    import pandas as pd

    from melp.explain import Explanation

Records = EcgRecord | Sequence[EcgRecord]
RecordsOrEmbeddings = Records | EcgEmbeddings
Prompts = Sequence[str | Sequence[str]]
WINDOW_MODES = ("first", "all", "best")
DEFAULT_BATCH_SIZE = 32
TEXT_BATCH_SIZE = 64
_WINDOW_CACHE_LOCK = threading.Lock()  # creates each model's window cache once
WINDOW_CACHE_SIZE = 8  # single windows whose tower outputs a model keeps (a few MB for the demo model)


def as_record_list(records: Records) -> list[EcgRecord]:
    """One record or a sequence of records -> list; anything else is a TypeError naming the fix."""
    record_list = [records] if isinstance(records, EcgRecord) else list(records)
    for record in record_list:
        if not isinstance(record, EcgRecord):
            raise TypeError(f"expected EcgRecord or a list of them, got {type(record).__name__}; "
                            "read files with melp.read_ecg(path)")
    return record_list


class InferenceMixin:
    """Public inference methods; the model supplies encode_ecg_tensors, tokenize, encode_text_tensors,
    decoder, tokenizer, config and logit_scale (log of the CLIP logit scale)."""

    @property
    def _device(self) -> torch.device:
        return next(self.parameters()).device

    precision: str = "fp32"  # set_precision changes it (melp.precision)

    def set_precision(self, precision: str) -> None:
        """Run inference at ``precision`` ("fp32", "bf16", "int8" or "auto"; melp.precision). int8 quantises the
        linear layers of the ECG tower and decoder in place, for good: load again for fp32 or for training."""
        from melp.precision import quantize_int8, resolve
        from melp.provenance import model_fingerprint

        chosen = resolve(precision, self._device)
        if self.precision == "int8" and chosen != "int8":
            raise ValueError("this model was quantised to int8; load it again for another precision")
        if chosen == "int8" and self.precision != "int8":
            model_fingerprint(self)  # of the weights as saved: kept (cached) through quantisation
            # the ECG tower and the decoder, where the time goes; the text tower stays fp32 (its prompt
            # embeddings are computed once and cached, and quantising it moved fold-10 AUROC by up to 0.006)
            for tower in (self.ecg_encoder, self.decoder):
                quantize_int8(tower)
        self.precision = chosen
        self._window_cache.clear()

    @property
    def _window_cache(self) -> ContentCache:
        cache = self.__dict__.get("_kept_windows")
        if cache is None:
            with _WINDOW_CACHE_LOCK:
                cache = self.__dict__.setdefault("_kept_windows", ContentCache(WINDOW_CACHE_SIZE))
        return cache

    def train(self, mode: bool = True):
        if mode:  # weights may change from here on: outputs kept for single windows would go stale
            self._window_cache.clear()
        return super().train(mode)

    def load_state_dict(self, *args, **kwargs):
        self._window_cache.clear()
        return super().load_state_dict(*args, **kwargs)

    def encode_window(self, signals: np.ndarray, lead_masks: np.ndarray,
                      heartbeats: np.ndarray | None = None) -> dict[str, torch.Tensor]:
        """``encode_ecg_tensors`` on preprocessed (B, 12, T) signals, (B, 12) lead masks and optional (B, K)
        heartbeats, inside ``evaluating()``; a single window's outputs are kept by content and shared by the
        next question about the same window (melp.content_cache); batches of several windows are not kept
        (evaluation, index builds: not asked twice, and large). Forgotten on training mode, new weights or
        precision. Readers must not change the outputs."""
        key = content_key((signals, lead_masks, heartbeats), self.precision) if len(signals) == 1 else None
        found = self._window_cache.get(key) if key is not None else None
        if found is not None:
            return found
        outputs = self.encode_ecg_tensors(
            torch.from_numpy(np.ascontiguousarray(signals)).to(self._device),
            torch.from_numpy(np.ascontiguousarray(lead_masks)).to(self._device),
            None if heartbeats is None else torch.from_numpy(heartbeats.astype(np.int64)).to(self._device))
        if key is not None:
            self._window_cache.put(key, outputs)
        return outputs

    @contextmanager
    def evaluating(self) -> Iterator[None]:
        """Eval mode and inference mode (at the model's precision) for the block; the caller's train/eval mode
        is restored after."""
        from melp.precision import autocast

        was_training = self.training
        # the mode is set only where some module is training: setting it walks every module twice per call,
        # and an upload asks the model 18 times, all in eval mode (the app's handlers 0.26 -> 0.23-0.25 s)
        switch = was_training or any(module.training for module in self.modules())
        if switch:
            self.eval()
        try:
            with torch.inference_mode(), autocast(self.precision, self._device):
                yield
        finally:
            if switch:
                self.train(was_training)

    @property
    def preprocess_config(self) -> PreprocessConfig:
        """The model's input preprocessing (rate, window, filter, normalisation, lead order)."""
        return PreprocessConfig(**self.config.preprocess)

    def _windows(self, record: EcgRecord, window: str) -> list[EcgRecord]:
        if window not in WINDOW_MODES:
            raise ValueError(f"window={window!r}, expected one of {WINDOW_MODES}")
        seconds = self.preprocess_config.seconds
        return [next(windows(record, seconds))] if window == "first" else list(windows(record, seconds))

    def _ecg_outputs(self, records: Records, keys: tuple[str, ...], batch_size: int,
                     window: str) -> list[dict[str, np.ndarray]]:
        """Per record, each requested output of ``encode_ecg_tensors`` stacked over its windows (W, ...)."""
        record_list = as_record_list(records)
        pieces = [(index, piece) for index, record in enumerate(record_list) for piece in self._windows(record, window)]
        collected: dict[str, list[np.ndarray]] = {key: [] for key in keys}
        config = self.preprocess_config
        with self.evaluating():
            for start in range(0, len(pieces), batch_size):
                batch = [piece for _, piece in pieces[start:start + batch_size]]
                signals, lead_masks, _ = preprocess_batch(batch, config)  # (B, 12, T), (B, 12)
                outputs = self.encode_window(signals, lead_masks)
                for key in keys:
                    collected[key].append(outputs[key].float().cpu().numpy())
        stacked = {key: np.concatenate(parts) if parts else np.zeros((0,)) for key, parts in collected.items()}
        owners = np.array([index for index, _ in pieces])
        return [{key: stacked[key][owners == index] for key in keys} for index in range(len(record_list))]

    def embed(self, records: Records, batch_size: int = DEFAULT_BATCH_SIZE, window: str = "first") -> EcgEmbeddings:
        """Encode once: the rhythm embeddings and probe features of every record (``window`` "first" or
        "all"), which zero_shot, findings, encode_ecg and features accept instead of records."""
        mode = self._pooled_mode(window)
        record_list = as_record_list(records)
        per_record = self._ecg_outputs(record_list, ("rhythm", "probe_features"), batch_size, mode)
        width = self.config.embed_dim
        rhythm = (_normalise_rows(np.stack([item["rhythm"].mean(axis=0) for item in per_record]))
                  if per_record else np.zeros((0, width), np.float32))
        features = (np.stack([item["probe_features"].mean(axis=0) for item in per_record]).astype(np.float32)
                    if per_record else np.zeros((0, width), np.float32))
        return EcgEmbeddings(rhythm, features, tuple(item["rhythm"] for item in per_record),
                             tuple(record.record_id for record in record_list), mode, self.provenance.fingerprint)

    def _embedded(self, records: RecordsOrEmbeddings, batch_size: int, window: str) -> EcgEmbeddings:
        if isinstance(records, EcgEmbeddings):
            records.check_model(self.provenance.fingerprint)
            return records
        return self.embed(records, batch_size, "all" if window in ("all", "best") else "first")

    def encode_ecg(self, records: RecordsOrEmbeddings, batch_size: int = DEFAULT_BATCH_SIZE,
                   window: str = "first") -> np.ndarray:
        """(N, E) L2-normalised rhythm-level ECG embeddings (records, or ``embed``'s result)."""
        embedded = self._embedded(records, batch_size, self._pooled_mode(window))
        return _normalise_rows(np.stack([w.mean(axis=0) for w in embedded.per_window(window)])) if len(embedded) \
            else embedded.rhythm

    def features(self, records: RecordsOrEmbeddings, batch_size: int = DEFAULT_BATCH_SIZE,
                 window: str = "first") -> np.ndarray:
        """(N, E) linear-probe features: pre-projection beat embeddings averaged (paper §3.4)."""
        embedded = self._embedded(records, batch_size, self._pooled_mode(window))
        if isinstance(records, EcgEmbeddings) and window != records.window:
            raise ValueError(f"features(window={window!r}) of embeddings made with window={records.window!r}; "
                             "embed the records again with that window")
        return embedded.features

    @staticmethod
    def _pooled_mode(window: str) -> str:
        if window == "best":
            raise ValueError("window='best' picks one window per prompt and only applies to zero_shot; "
                             "use 'first' or 'all' for embeddings and features")
        return window

    def encode_text(self, texts: str | Sequence[str], batch_size: int = TEXT_BATCH_SIZE) -> np.ndarray:
        """(M, E) L2-normalised text embeddings of reports or prompts."""
        text_list = [texts] if isinstance(texts, str) else list(texts)
        embeddings = []
        with self.evaluating():
            for start in range(0, len(text_list), batch_size):
                tokens = self.tokenize(text_list[start:start + batch_size])
                outputs = self.encode_text_tensors(tokens["input_ids"].to(self._device),
                                                   tokens["attention_mask"].to(self._device))
                embeddings.append(F.normalize(outputs["text_embeds"].float(), dim=-1).cpu().numpy())
        if not embeddings:
            return np.zeros((0, self.config.embed_dim), np.float32)
        return np.concatenate(embeddings)

    def class_embeddings(self, prompts: Prompts) -> np.ndarray:
        """(M, E) one embedding per class: the renormalised mean of its phrasings' embeddings."""
        if isinstance(prompts, str):
            raise TypeError("prompts must be a list (of strings or lists of phrasings), got one string; "
                            f"pass [{prompts!r}]")
        phrasings = [[prompt] if isinstance(prompt, str) else list(prompt) for prompt in prompts]
        empty = [index for index, group in enumerate(phrasings) if not group]
        if empty:
            raise ValueError(f"prompts {empty} have no phrasings; give each class at least one string")
        flat_embeddings = self.encode_text([text for group in phrasings for text in group])  # (sum, E)
        bounds = np.cumsum([0] + [len(group) for group in phrasings])
        means = np.stack([flat_embeddings[a:b].mean(axis=0) for a, b in zip(bounds[:-1], bounds[1:])])
        return _normalise_rows(means)

    def zero_shot(self, records: RecordsOrEmbeddings, prompts: Prompts, batch_size: int = DEFAULT_BATCH_SIZE,
                  window: str = "first") -> np.ndarray:
        """(N, M) cosine similarity of each ECG with each prompt (a prompt may be a list of phrasings).

        ``records`` may be ``embed``'s result, so several prompt sets score one encoding; with one window
        this equals ``encode_ecg(records) @ class_embeddings(prompts).T``.
        """
        if window not in WINDOW_MODES:
            raise ValueError(f"window={window!r}, expected one of {WINDOW_MODES}")
        class_embeddings = self.class_embeddings(prompts)  # (M, E)
        embedded = self._embedded(records, batch_size, window)
        scores = [per_window @ class_embeddings.T for per_window in embedded.per_window(window)]  # each (W, M)
        if not scores:
            return np.zeros((0, len(class_embeddings)), np.float32)
        reduce = np.max if window == "best" else np.mean
        return np.stack([reduce(per_window, axis=0) for per_window in scores]).astype(np.float32)

    def findings(self, records: RecordsOrEmbeddings, label_sets: Sequence[str] | None = None) -> "pd.DataFrame":
        """Calibrated probability of every shipped statement (or those of ``label_sets``) for every record:
        one DataFrame row per record and statement (record_id, label_set, statement, name, probability,
        cosine); see melp.findings and melp.calibration."""
        from melp.findings import findings

        return findings(self, records, tuple(label_sets) if label_sets else None)

    def zero_shot_probabilities(self, records: Records, prompts: Prompts, batch_size: int = DEFAULT_BATCH_SIZE,
                                window: str = "first") -> np.ndarray:
        """(N, M) softmax over the given prompts of the cosine scores times the learned logit scale.

        A share among the prompts given, not a probability of any finding: it changes when a prompt is
        added. For how likely a finding is, use ``findings`` (calibrated)."""
        logits = self.zero_shot(records, prompts, batch_size, window) * self.contrastive_logit_scale()
        logits = logits - logits.max(axis=1, keepdims=True)
        exponentials = np.exp(logits)
        return (exponentials / exponentials.sum(axis=1, keepdims=True)).astype(np.float32)

    def generate_report(self, record: EcgRecord, *, num_beams: int = 1, max_new_tokens: int | None = None,
                        min_new_tokens: int = 0, do_sample: bool = False, temperature: float = 1.0, top_k: int = 0,
                        top_p: float = 1.0, repetition_penalty: float = 1.0, seed: int | None = None) -> str:
        """The report the decoder writes for one record (first window). Greedy unless ``num_beams`` > 1
        or ``do_sample``; ``max_new_tokens`` defaults to the decoder's context length minus BOS.
        ``generate_reports`` takes the same options for many records, batched."""
        if not isinstance(record, EcgRecord):
            raise TypeError(f"generate_report takes one EcgRecord, got {type(record).__name__}; for several, call "
                            "generate_reports(records, ...) with the same options: it batches them (3-10x faster "
                            "than a loop)")
        return self.generate_reports([record], num_beams=num_beams, max_new_tokens=max_new_tokens,
                                     min_new_tokens=min_new_tokens, do_sample=do_sample, temperature=temperature,
                                     top_k=top_k, top_p=top_p, repetition_penalty=repetition_penalty, seed=seed)[0]

    def generate_reports(self, records: Records, *, num_beams: int = 1, max_new_tokens: int | None = None,
                         min_new_tokens: int = 0, do_sample: bool = False, temperature: float = 1.0, top_k: int = 0,
                         top_p: float = 1.0, repetition_penalty: float = 1.0, seed: int | None = None,
                         batch_size: int = DEFAULT_BATCH_SIZE) -> list[str]:
        """One generated report per record (first window each), batched; the options are generate_report's."""
        config = GenerationConfig(
            max_new_tokens=max_new_tokens or self.decoder.context_length - 1, min_new_tokens=min_new_tokens,
            num_beams=num_beams, do_sample=do_sample, temperature=temperature, top_k=top_k, top_p=top_p,
            repetition_penalty=repetition_penalty, seed=seed,
        )
        per_record = self._ecg_outputs(records, ("caption_tokens",), batch_size, "first")
        reports = []
        for start in range(0, len(per_record), batch_size):
            caption_tokens = np.concatenate([item["caption_tokens"] for item in per_record[start:start + batch_size]])
            with self.evaluating():
                token_ids = generate(self.decoder, torch.from_numpy(caption_tokens).to(self._device), config)
            reports += self.tokenizer.batch_decode(token_ids.cpu(), skip_special_tokens=True)
        return [report.strip() for report in reports]

    def explain(self, record: EcgRecord, text: str | None = None, window: int | float = 0) -> "Explanation":
        """Attention maps, heartbeats and sentence x heartbeat similarity for one window of a record
        (see melp.explain).

        ``text`` None explains the model's own (greedy) report. ``window``: an int is the index of a
        non-overlapping window of the model's length (0 = the first), a float the start time in seconds.
        """
        from melp.explain import build_explanation

        return build_explanation(self, record, text, window)

    def contrastive_logit_scale(self) -> float:
        """The learned CLIP logit scale exp(log scale), clamped at config.loss.max_logit_scale as in training."""
        return float(self.logit_scale.detach().exp().clamp(max=self.config.loss.max_logit_scale))


def _normalise_rows(rows: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(rows, axis=-1, keepdims=True)
    return (rows / np.maximum(norms, np.finfo(np.float32).tiny)).astype(np.float32)
