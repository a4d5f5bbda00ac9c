"""Two gloo CPU processes under torchrun: different data per rank, identical weights at the end."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from train.checkpointing import checkpoint_path, load_checkpoint
from train.metrics_log import MetricsLog

REPO = Path(__file__).resolve().parents[1]
WORKER = REPO / "tests" / "ddp_train_worker.py"
RANKS = 2
TIMEOUT_S = 240


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def ddp_run(tmp_path_factory) -> Path:
    out_dir = tmp_path_factory.mktemp("ddp")
    command = [sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={RANKS}",
               "--master_addr=127.0.0.1", f"--master_port={_free_port()}", str(WORKER), str(out_dir)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)
    assert done.returncode == 0, done.stderr[-4000:]
    return out_dir


@pytest.mark.distributed
@pytest.mark.slow
def test_ranks_see_disjoint_data(ddp_run):
    ids = [json.loads((ddp_run / f"ids-rank{rank}.json").read_text()) for rank in range(RANKS)]
    assert all(ids)
    assert set(ids[0]).isdisjoint(ids[1])


@pytest.mark.distributed
@pytest.mark.slow
def test_ranks_end_with_identical_weights(ddp_run):
    saved = [torch.load(ddp_run / f"weights-rank{rank}.pt", weights_only=True) for rank in range(RANKS)]
    assert saved[0]["step"] == saved[1]["step"] == 4
    first, second = saved[0]["final"], saved[1]["final"]
    assert first.keys() == second.keys()
    assert [name for name in first if not torch.equal(first[name], second[name])] == []


@pytest.mark.distributed
@pytest.mark.slow
def test_training_moved_the_weights(ddp_run):
    """Guards the test above: equality must come from synchronised updates, not from no updates."""
    saved = torch.load(ddp_run / "weights-rank0.pt", weights_only=True)
    moved = [name for name in saved["final"] if not torch.equal(saved["final"][name], saved["initial"][name])]
    assert len(moved) > len(saved["final"]) // 2


@pytest.mark.distributed
@pytest.mark.slow
def test_rank0_validates_while_the_other_rank_waits(ddp_run):
    rows = MetricsLog(ddp_run / "run" / "metrics.csv").read()
    assert [row["step"] for row in rows if row["val_auroc"]] == ["2", "4"]
    assert (ddp_run / "run" / "best" / "config.json").is_file()


@pytest.mark.distributed
@pytest.mark.slow
def test_checkpoint_holds_each_ranks_rng_and_the_final_weights(ddp_run):
    checkpoint = load_checkpoint(checkpoint_path(ddp_run / "run"))
    final = torch.load(ddp_run / "weights-rank0.pt", weights_only=True)["final"]
    assert checkpoint["state"]["step"] == 4 and len(checkpoint["rng"]) == RANKS
    assert not torch.equal(checkpoint["rng"][0]["torch"], checkpoint["rng"][1]["torch"])
    assert all(torch.equal(final[name], checkpoint["model"][name]) for name in final)
