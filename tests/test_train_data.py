"""Training batches: random lead masking, per-rank sampling and mid-epoch resumption of the order."""
from __future__ import annotations

import numpy as np
import torch

from tests.tiny_training import TinyPairs
from train.config import TrainConfig
from train.data import LeadMaskingView, ResumableSampler, drop_random_leads, make_train_loader, micro_batches_per_epoch
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
    view = LeadMaskingView(TinyPairs(4, 20), prob=0.5, seed=0)
    first = [view[i]["lead_mask"] for i in range(4)]
    assert all(np.array_equal(a, view[i]["lead_mask"]) for i, a in enumerate(first))
    view.set_epoch(1)
    assert any(not np.array_equal(a, view[i]["lead_mask"]) for i, a in enumerate(first))


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
