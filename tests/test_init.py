"""Every parameter is initialised: none keeps torch.empty memory, none is NaN/inf or degenerate."""
from __future__ import annotations

import pytest
import torch

from melp.config import MelpConfig
from melp.models.melp import MelpModel
from tests.model_fixtures import tiny_config


@pytest.fixture
def empty_is_nan(monkeypatch):
    """torch.empty returns NaN-filled floats, so any parameter never initialised stays NaN."""
    original = torch.empty

    def nan_empty(*args, **kwargs):
        tensor = original(*args, **kwargs)
        return tensor.fill_(float("nan")) if tensor.is_floating_point() else tensor

    monkeypatch.setattr(torch, "empty", nan_empty)


# Zero on purpose: the amplitude path starts switched off, so training begins from the plain encoder.
ZERO_INITIALISED = {"ecg_encoder.encoder.amplitude_proj.weight"}


def _assert_initialised(model: torch.nn.Module) -> None:
    for name, parameter in model.named_parameters():
        values = parameter.detach()
        assert torch.isfinite(values).all(), f"{name} has NaN/inf (uninitialised?)"
        if name in ZERO_INITIALISED:
            assert not values.any(), f"{name} should start at zero"
            continue
        assert values.abs().max() < 50, f"{name} has implausible values up to {values.abs().max():.3g}"
        if values.ndim >= 2:
            assert values.std() > 0, f"{name} is constant: {values.flatten()[0]:.3g}"


@pytest.mark.parametrize("random_text", [False, True])
def test_every_param_initialised_tiny(empty_is_nan, random_text):
    _assert_initialised(MelpModel(tiny_config(random_text=random_text)))


def test_every_param_initialised_demo(empty_is_nan):
    _assert_initialised(MelpModel(MelpConfig.preset("demo")))


def test_nan_fill_detects_uninitialised_parameter(empty_is_nan):
    holder = torch.nn.Module()
    holder.weight = torch.nn.Parameter(torch.empty(3, 3))
    with pytest.raises(AssertionError, match="weight has NaN"):
        _assert_initialised(holder)
