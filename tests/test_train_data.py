"""Training batches: random lead masking, sentence subsets, per-rank sampling and mid-epoch resumption of the order."""
from __future__ import annotations

import numpy as np
import torch

from tests.tiny_training import TinyPairs
from train.config import TrainConfig
from melp.datasets.text import split_sentences
from train.data import (ResumableSampler, TrainingView, collate_items, drop_random_leads, make_train_loader,
                        micro_batches_per_epoch, sample_sentences)
from train.distributed import DistEnv

CPU = torch.device("cpu")


def _env(rank: int = 0, world_size: int = 1) -> DistEnv:
    return DistEnv(rank=rank, local_rank=rank, world_size=world_size, device=CPU)


def test_lead_masking_always_keeps_one_present_lead():
    signal, mask = np.ones((12, 10), np.float32), np.zeros(12, bool)
    mask[[1, 7]] = True
    for seed in range(50):
        new_signal, new_mask = drop_random_leads(signal, mask, 0.99, np.random.default_rng(seed))
        assert 1 <= new_mask.sum() <= 2 and not new_mask[~mask].any()
        dropped = mask & ~new_mask
        assert not new_signal[dropped].any() and new_signal[new_mask].all()


def test_lead_masking_drops_about_the_asked_share():
    masks = [drop_random_leads(np.ones((12, 4), np.float32), np.ones(12, bool), 0.5, np.random.default_rng(s))[1]
             for s in range(400)]
    assert 0.45 < 1 - np.mean(masks) < 0.55


def test_lead_masking_repeats_within_an_epoch_and_changes_across_epochs():
    view = TrainingView(TinyPairs(4, 20), prob=0.5, seed=0)
    first = [view[i]["lead_mask"] for i in range(4)]
    assert all(np.array_equal(a, view[i]["lead_mask"]) for i, a in enumerate(first))
    view.set_epoch(1)
    assert any(not np.array_equal(a, view[i]["lead_mask"]) for i, a in enumerate(first))


def test_split_sentences_keeps_marks_and_decimals():
    assert split_sentences("sinus rhythm, rate 71. qtc 0.47 s; abnormal ecg") == [
        "sinus rhythm, rate 71.", "qtc 0.47 s;", "abnormal ecg"]
    assert split_sentences("") == [] and split_sentences("one") == ["one"]


def test_sentence_subset_is_a_nonempty_ordered_subset():
    report = "a one. b two. c three. d four."
    sentences = split_sentences(report)
    seen = set()
    for seed in range(200):
        kept = split_sentences(sample_sentences(report, np.random.default_rng(seed)))
        assert kept and kept == [s for s in sentences if s in kept]  # non-empty, in order, no invention
        seen.add(len(kept))
    assert seen == {1, 2, 3, 4}
    assert sample_sentences("only one sentence.", np.random.default_rng(0)) == "only one sentence."


class _Reports(TinyPairs):
    def __getitem__(self, index: int) -> dict:
        return {**super().__getitem__(index), "report": f"rhythm {index}. axis {index}. block {index}."}


def test_training_view_subsets_text_only_and_repeats_within_an_epoch():
    view = TrainingView(_Reports(40, 8), prob=0.0, seed=0, sentence_subset_prob=0.5)
    items = [view[i] for i in range(40)]
    subsets = [item for item in items if "text_report" in item]
    assert 8 < len(subsets) < 32  # about half the reports
    assert all(len(split_sentences(item["text_report"])) < 3 or item["text_report"] == item["report"]
               for item in subsets)
    assert all(item["report"].startswith(f"rhythm {i}.") for i, item in enumerate(items))  # caption stays whole
    assert [view[i].get("text_report") for i in range(40)] == [item.get("text_report") for item in items]
    batch = collate_items(items)
    assert batch["reports"] == [item["report"] for item in items]
    assert batch["text_reports"] == [item.get("text_report", item["report"]) for item in items]
    assert "text_report" not in TrainingView(_Reports(4, 8), prob=0.0, seed=0)[0]


def test_resumed_sampler_continues_the_same_order():
    pairs = TinyPairs(20, 8)
    full = list(ResumableSampler(pairs, _env(), seed=3, epoch=2, skip=0))
    assert list(ResumableSampler(pairs, _env(), seed=3, epoch=2, skip=8)) == full[8:]
    assert sorted(full) == list(range(20))


def test_ranks_split_an_epoch_without_overlap():
    pairs = TinyPairs(20, 8)
    shares = [set(ResumableSampler(pairs, _env(rank, 2), seed=0, epoch=0, skip=0)) for rank in range(2)]
    assert shares[0].isdisjoint(shares[1]) and len(shares[0]) == len(shares[1]) == 10


def test_epoch_uses_whole_accumulation_windows_only():
    config = TrainConfig(batch_size=4, grad_accum_steps=2)
    assert micro_batches_per_epoch(TinyPairs(44, 8), config, _env()) == 10   # 11 batches -> 10
    assert micro_batches_per_epoch(TinyPairs(44, 8), config, _env(0, 2)) == 4   # 22 per rank -> 5 -> 4


def test_loader_leaves_the_global_torch_rng_alone():
    config = TrainConfig(batch_size=4)
    torch.manual_seed(0)
    before = torch.get_rng_state()
    batches = list(make_train_loader(TinyPairs(12, 8), config, _env(), epoch=0, skip_batches=1,
                                     generator=torch.Generator()))
    assert len(batches) == 2 and batches[0]["signals"].shape == (4, 12, 8)
    assert torch.equal(before, torch.get_rng_state())
