"""benchmarks/bench_gpu.py: the GPU inference benchmark runs its same code on the CPU, and without a GPU
it says what it needs instead of failing later."""
from __future__ import annotations

import re

import pytest
import torch

from benchmarks import bench_gpu


def test_both_precisions_are_timed_and_compared_with_fp32():
    rows = bench_gpu.main(["--device", "cpu", "--batch-size", "1", "--repeats", "1", "--no-append"])
    assert [name for name, _ in rows] == ["paper tower, batch 1, fp32", "paper tower, batch 1, bf16"]
    cosines = [float(re.search(r"cosine to fp32 ([0-9.]+)", value).group(1)) for _, value in rows]
    assert cosines[0] == pytest.approx(1.0) and cosines[1] > 0.99  # bf16 autocast keeps the embedding


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_without_a_gpu_it_says_so():
    with pytest.raises(SystemExit, match="sees no GPU"):
        bench_gpu.main(["--no-append"])
