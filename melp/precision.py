"""Reduced-precision inference: the same API and float32 outputs, computed in bf16 or int8 where it pays.

- ``fp32``: as trained.
- ``bf16``: matrix multiplies under ``torch.autocast`` in bfloat16 (CPUs with AVX-512 BF16 or AMX, GPUs
  with bf16); weights stay float32, outputs are cast back to float32.
- ``int8``: dynamic int8 quantisation of the ``nn.Linear`` layers of the ECG tower and the decoder
  (``torch.ao.quantization.quantize_dynamic``; weights int8, activations quantised per batch; the text
  tower stays fp32, see ``InferenceMixin.set_precision``), for CPUs with VNNI but no AMX; CPU only.
- ``auto``: bf16 on CPUs with AMX and on bf16 GPUs, else int8 where the CPU has VNNI, else bf16 where it
  has AVX-512 BF16, else fp32 (``resolve``). It is chosen from what the processor reports, not by timing,
  so loading stays fast; benchmarks/bench_precision.py measures what each path gives on a machine.
Reduced precision is for inference only: a model loaded with it is not for training.
"""
from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path

import torch
from torch import nn

logger = logging.getLogger(__name__)

PRECISIONS = ("auto", "fp32", "bf16", "int8")
CPUINFO = Path("/proc/cpuinfo")
AMX_FLAGS = ("amx_bf16",)  # bf16 tile matrix units: bf16 autocast is the fastest path there
BF16_FLAGS = ("avx512_bf16", "amx_bf16")
INT8_FLAGS = ("avx512_vnni", "avx_vnni", "amx_int8")


def cpu_flags(cpuinfo: Path = CPUINFO) -> frozenset[str]:
    """The processor's feature flags (Linux /proc/cpuinfo); empty elsewhere."""
    try:
        text = cpuinfo.read_text(errors="replace")
    except OSError:
        return frozenset()
    line = next((line for line in text.splitlines() if line.startswith("flags")), "")
    return frozenset(line.partition(":")[2].split())


def resolve(precision: str, device: torch.device | str = "cpu", flags: frozenset[str] | None = None) -> str:
    """The concrete precision ("fp32", "bf16" or "int8") for ``precision`` on ``device``."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision={precision!r}, expected one of {PRECISIONS}")
    device = torch.device(device)
    if precision == "int8" and device.type != "cpu":
        raise ValueError(f"precision='int8' runs on the CPU only (dynamic quantisation), not on {device}; use 'bf16'")
    if precision != "auto":
        return precision
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    if device.type != "cpu":
        return "fp32"
    flags = cpu_flags() if flags is None else flags
    # measured (benchmarks/bench_precision.py): without AMX, AVX-512 BF16 autocast gains 1.35-1.7x on the paper
    # tower and VNNI int8 2.0-2.3x, so int8 goes first unless the CPU has AMX
    if any(flag in flags for flag in AMX_FLAGS):
        return "bf16"
    if any(flag in flags for flag in INT8_FLAGS):
        return "int8"
    return "bf16" if any(flag in flags for flag in BF16_FLAGS) else "fp32"


@contextlib.contextmanager
def autocast(precision: str, device: torch.device) -> Iterator[None]:
    """bf16 autocast for ``precision == "bf16"``, nothing otherwise."""
    if precision == "bf16":
        with torch.autocast(device.type, dtype=torch.bfloat16):
            yield
    else:
        yield


def quantize_int8(module: nn.Module) -> nn.Module:
    """Dynamic int8 quantisation of every nn.Linear of ``module``, in place (CPU inference only)."""
    with warnings.catch_warnings():  # torch 2.13 announces a future replacement of these quantised tensors
        warnings.filterwarnings("ignore", message=".*quantize_per_tensor.*deprecated", category=UserWarning)
        return torch.ao.quantization.quantize_dynamic(module, {nn.Linear}, dtype=torch.qint8, inplace=True)


class PrecisionTower(nn.Module):
    """An ECG tower run at a precision: same inputs, float32 outputs (for ``load_official_encoder``)."""

    def __init__(self, tower: nn.Module, precision: str) -> None:
        super().__init__()
        self.tower = quantize_int8(tower) if precision == "int8" else tower
        self.precision = precision

    def forward(self, signals: torch.Tensor, lead_mask: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        with autocast(self.precision, signals.device):
            outputs = self.tower(signals, lead_mask)
        return {name: value.float() if value.is_floating_point() else value for name, value in outputs.items()}
