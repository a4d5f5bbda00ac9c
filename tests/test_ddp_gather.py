"""CLIP negatives gathered across 2 gloo ranks: same loss as one process, gradients reach both ranks."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
WORKER = Path(__file__).with_name("ddp_gather_worker.py")
TIMEOUT_S = 120


@pytest.mark.distributed
def test_gathered_clip_loss_equals_single_process_loss(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
               str(WORKER), str(tmp_path)]
    completed = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)
    assert completed.returncode == 0, completed.stderr[-3000:]
    results = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(2)]
    for result in results:
        assert result["gathered_rows"] == 8
        assert result["loss"] == pytest.approx(result["reference_loss"], rel=1e-6)
        assert result["grad_error"] < 1e-6
        assert result["grad_norm"] > 0
