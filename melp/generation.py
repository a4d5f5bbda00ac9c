"""Report generation from caption tokens: greedy, beam search and sampling over a ``CaptionDecoder``.

Every strategy starts each sequence with the decoder's BOS token, stops a sequence at its EOS
token, and pads finished sequences with PAD. With ``use_cache`` the decoder's key/value cache
is used, so each step feeds only the newest token; without it the whole prefix is re-run
(kept for the equality test and the benchmark).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from melp.models.decoder import CaptionDecoder, DecoderCache, reorder_cache


@dataclass(frozen=True)
class GenerationConfig:
    max_new_tokens: int = 64  # upper bound on generated tokens (EOS included); BOS is not counted
    min_new_tokens: int = 0  # EOS is forbidden before this many tokens
    num_beams: int = 1  # 1 = greedy (or sampling); > 1 = beam search
    do_sample: bool = False  # sample instead of taking the most likely token (needs num_beams == 1)
    temperature: float = 1.0  # sampling only: logits are divided by it
    top_k: int = 0  # sampling only: keep the k most likely tokens (0 = all)
    top_p: float = 1.0  # sampling only: keep the smallest set with cumulative probability >= top_p
    repetition_penalty: float = 1.0  # > 1 discourages tokens already generated (CTRL, Keskar et al. 2019)
    length_penalty: float = 1.0  # beam search: hypothesis score = sum log p / length ** length_penalty
    use_cache: bool = True  # reuse the decoder's key/value cache between steps
    seed: int | None = None  # sampling only: seed of a private generator, for reproducible samples

    def __post_init__(self) -> None:
        problems = []
        if self.max_new_tokens < 1 or self.min_new_tokens < 0 or self.min_new_tokens > self.max_new_tokens:
            problems.append(f"need 0 <= min_new_tokens ({self.min_new_tokens}) <= max_new_tokens ({self.max_new_tokens}), max >= 1")
        if self.num_beams < 1:
            problems.append(f"num_beams is {self.num_beams}, expected >= 1")
        if self.do_sample and self.num_beams > 1:
            problems.append("do_sample=True with num_beams > 1 is not supported; use one or the other")
        if self.temperature <= 0 or self.top_k < 0 or not 0 < self.top_p <= 1 or self.repetition_penalty <= 0:
            problems.append(
                f"temperature {self.temperature} (> 0), top_k {self.top_k} (>= 0), top_p {self.top_p} "
                f"(in (0, 1]) and repetition_penalty {self.repetition_penalty} (> 0) out of range"
            )
        if problems:
            raise ValueError("GenerationConfig: " + "; ".join(problems))


def generate(decoder: CaptionDecoder, caption_tokens: torch.Tensor, config: GenerationConfig) -> torch.Tensor:
    """Generate token ids (B, L') from caption tokens (B, Qc, Dc); BOS excluded, EOS kept, PAD after it."""
    if config.max_new_tokens + 1 > decoder.context_length:
        raise ValueError(
            f"max_new_tokens={config.max_new_tokens} plus BOS exceeds the decoder context_length "
            f"{decoder.context_length}; pass max_new_tokens <= {decoder.context_length - 1}"
        )
    was_training = decoder.training
    decoder.eval()
    try:
        with torch.inference_mode():
            if config.num_beams > 1:
                return _beam_search(decoder, caption_tokens, config)
            return _greedy_or_sample(decoder, caption_tokens, config)
    finally:
        decoder.train(was_training)


class _Stepper:
    """Runs the decoder one step at a time, with or without the key/value cache."""

    def __init__(self, decoder: CaptionDecoder, caption_tokens: torch.Tensor, use_cache: bool) -> None:
        self.decoder = decoder
        self.caption_tokens = caption_tokens
        self.use_cache = use_cache
        self.cache: DecoderCache | None = None

    def next_logits(self, sequences: torch.Tensor) -> torch.Tensor:
        """Logits (B, V) for the token after ``sequences`` (B, L)."""
        if not self.use_cache:
            logits, _ = self.decoder(sequences, self.caption_tokens)
            return logits[:, -1]
        new_tokens = sequences if self.cache is None else sequences[:, -1:]
        logits, self.cache = self.decoder(new_tokens, self.caption_tokens, past_key_values=self.cache, use_cache=True)
        return logits[:, -1]

    def reorder(self, beam_index: torch.Tensor) -> None:
        self.caption_tokens = self.caption_tokens.index_select(0, beam_index)
        if self.cache is not None:
            self.cache = reorder_cache(self.cache, beam_index)


def _process_logits(logits: torch.Tensor, generated: torch.Tensor, step: int, decoder: CaptionDecoder,
                    config: GenerationConfig) -> torch.Tensor:
    """Forbid BOS/PAD, apply the repetition penalty and the minimum length to logits (B, V).

    ``generated`` (B, step) holds the tokens produced so far, BOS excluded.
    """
    logits = logits.float().clone()
    for special in {decoder.bos_token_id, decoder.pad_token_id} - {decoder.eos_token_id}:
        logits[:, special] = float("-inf")
    if config.repetition_penalty != 1.0 and generated.shape[1] > 0:
        seen = logits.gather(1, generated)  # (B, step)
        penalised = torch.where(seen > 0, seen / config.repetition_penalty, seen * config.repetition_penalty)
        logits.scatter_(1, generated, penalised)
    if step < config.min_new_tokens:
        logits[:, decoder.eos_token_id] = float("-inf")
    return logits


def _filter_for_sampling(logits: torch.Tensor, config: GenerationConfig) -> torch.Tensor:
    """Temperature, top-k and nucleus (top-p) filtering of logits (B, V)."""
    logits = logits / config.temperature
    if 0 < config.top_k < logits.shape[-1]:
        kth_best = torch.topk(logits, config.top_k, dim=-1).values[:, -1:]  # (B, 1)
        logits = logits.masked_fill(logits < kth_best, float("-inf"))
    if config.top_p < 1.0:
        sorted_logits, order = torch.sort(logits, descending=True, dim=-1)  # (B, V)
        cumulative = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
        drop_sorted = cumulative - sorted_logits.softmax(dim=-1) >= config.top_p  # keeps at least the best token
        logits = logits.masked_fill(drop_sorted.scatter(1, order, drop_sorted), float("-inf"))
    return logits


def _greedy_or_sample(decoder: CaptionDecoder, caption_tokens: torch.Tensor, config: GenerationConfig) -> torch.Tensor:
    batch = caption_tokens.shape[0]
    device = caption_tokens.device
    generator = None
    if config.do_sample and config.seed is not None:
        generator = torch.Generator(device=device).manual_seed(config.seed)
    sequences = torch.full((batch, 1), decoder.bos_token_id, dtype=torch.long, device=device)  # (B, 1)
    finished = torch.zeros(batch, dtype=torch.bool, device=device)
    stepper = _Stepper(decoder, caption_tokens, config.use_cache)
    for step in range(config.max_new_tokens):
        logits = _process_logits(stepper.next_logits(sequences), sequences[:, 1:], step, decoder, config)
        if config.do_sample:
            probabilities = _filter_for_sampling(logits, config).softmax(dim=-1)
            next_tokens = torch.multinomial(probabilities, 1, generator=generator).squeeze(1)  # (B,)
        else:
            next_tokens = logits.argmax(dim=-1)  # (B,)
        next_tokens = next_tokens.masked_fill(finished, decoder.pad_token_id)
        sequences = torch.cat([sequences, next_tokens.unsqueeze(1)], dim=1)  # (B, step + 2)
        finished |= next_tokens == decoder.eos_token_id
        if finished.all():
            break
    return sequences[:, 1:]


@dataclass
class _Hypotheses:
    """Finished hypotheses of one batch item: (score, token ids without BOS)."""

    items: list[tuple[float, torch.Tensor]]

    def best(self) -> torch.Tensor:
        return max(self.items, key=lambda item: item[0])[1]


def _beam_search(decoder: CaptionDecoder, caption_tokens: torch.Tensor, config: GenerationConfig) -> torch.Tensor:
    """Beam search; an item stops once it holds ``num_beams`` finished hypotheses (early stopping)."""
    batch, beams = caption_tokens.shape[0], config.num_beams
    device = caption_tokens.device
    stepper = _Stepper(decoder, caption_tokens.repeat_interleave(beams, dim=0), config.use_cache)
    sequences = torch.full((batch * beams, 1), decoder.bos_token_id, dtype=torch.long, device=device)  # (B*K, 1)
    beam_scores = torch.full((batch, beams), float("-inf"), device=device)
    beam_scores[:, 0] = 0.0  # all beams start identical: expand only the first
    finished = [_Hypotheses([]) for _ in range(batch)]
    done = [False] * batch
    for step in range(config.max_new_tokens):
        logits = _process_logits(stepper.next_logits(sequences), sequences[:, 1:], step, decoder, config)
        log_probs = logits.log_softmax(dim=-1)  # (B*K, V)
        vocab = log_probs.shape[-1]
        candidates = (beam_scores.view(-1, 1) + log_probs).view(batch, beams * vocab)  # (B, K*V)
        top_scores, top_index = candidates.topk(2 * beams, dim=1)  # (B, 2K)
        chosen_rows, chosen_tokens, chosen_scores = [], [], []
        for item in range(batch):
            rows, tokens, scores = _advance_item(item, beams, vocab, top_scores[item], top_index[item],
                                                 sequences, finished[item], done[item], decoder, config)
            chosen_rows += rows
            chosen_tokens += tokens
            chosen_scores += scores
            done[item] = done[item] or len(finished[item].items) >= beams
        row_index = torch.tensor(chosen_rows, device=device)  # (B*K,)
        sequences = torch.cat([sequences[row_index], torch.tensor(chosen_tokens, device=device).unsqueeze(1)], dim=1)
        beam_scores = torch.tensor(chosen_scores, device=device).view(batch, beams)
        stepper.reorder(row_index)
        if all(done):
            break
    for item in range(batch):
        if not done[item]:
            for beam in range(beams):
                score = beam_scores[item, beam].item()
                row = sequences[item * beams + beam, 1:]
                finished[item].items.append((score / row.shape[0] ** config.length_penalty, row))
    return _pad_right([hypotheses.best() for hypotheses in finished], decoder.pad_token_id, device)


def _advance_item(item: int, beams: int, vocab: int, top_scores: torch.Tensor, top_index: torch.Tensor,
                  sequences: torch.Tensor, finished: _Hypotheses, done: bool, decoder: CaptionDecoder,
                  config: GenerationConfig) -> tuple[list[int], list[int], list[float]]:
    """Choose the next ``beams`` (row, token, score) of one batch item; EOS candidates finish a hypothesis."""
    first_row = item * beams
    if done:
        return [first_row] * beams, [decoder.pad_token_id] * beams, [0.0] * beams
    rows, tokens, scores = [], [], []
    for rank, (score, flat_index) in enumerate(zip(top_scores.tolist(), top_index.tolist())):
        row, token = first_row + flat_index // vocab, flat_index % vocab
        if token == decoder.eos_token_id:
            if rank < beams:
                hypothesis = torch.cat([sequences[row, 1:], sequences.new_tensor([token])])
                finished.items.append((score / hypothesis.shape[0] ** config.length_penalty, hypothesis))
            continue
        rows.append(row)
        tokens.append(token)
        scores.append(score)
        if len(rows) == beams:
            break
    return rows, tokens, scores


def _pad_right(rows: list[torch.Tensor], pad_token_id: int, device: torch.device) -> torch.Tensor:
    length = max(row.shape[0] for row in rows)
    padded = torch.full((len(rows), length), pad_token_id, dtype=torch.long, device=device)  # (B, L')
    for index, row in enumerate(rows):
        padded[index, : row.shape[0]] = row
    return padded
