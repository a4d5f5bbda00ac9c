"""get_lr: linear warmup, then cosine from lr to min_lr over max_steps."""
from __future__ import annotations

import pytest

from train.config import TrainConfig
from train.optim import get_lr


def test_warmup_rises_linearly_to_peak():
    config = TrainConfig(lr=1e-3, warmup_steps=10, max_steps=100)
    rates = [get_lr(step, config) for step in range(10)]
    assert rates == sorted(rates)
    assert rates[0] == pytest.approx(1e-4)
    assert rates[-1] == pytest.approx(1e-3)


def test_cosine_starts_at_peak_halves_midway_and_ends_at_floor():
    config = TrainConfig(lr=1e-3, min_lr=1e-5, warmup_steps=0, max_steps=100)
    assert get_lr(0, config) == pytest.approx(1e-3)
    assert get_lr(50, config) == pytest.approx((1e-3 + 1e-5) / 2)
    assert get_lr(100, config) == pytest.approx(1e-5)
    assert get_lr(500, config) == pytest.approx(1e-5)


def test_cosine_decreases_monotonically_after_warmup():
    config = TrainConfig(lr=2e-4, warmup_steps=5, max_steps=60)
    rates = [get_lr(step, config) for step in range(5, 61)]
    assert all(later <= earlier for earlier, later in zip(rates, rates[1:]))


def test_constant_schedule_holds_after_warmup():
    config = TrainConfig(lr=3e-4, warmup_steps=4, max_steps=50, schedule="constant")
    assert {get_lr(step, config) for step in range(4, 50)} == {3e-4}
