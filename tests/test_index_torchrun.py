"""``python -m index.build`` under torchrun: two CPU ranks embed alternate shards, rank 0 writes the library."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from index import Library, build_library
from index_fixtures import write_ecg_folder
from tiny_melp import tiny_model

REPO = Path(__file__).resolve().parents[1]
RANKS = 2
TIMEOUT_S = 300


@pytest.mark.distributed
@pytest.mark.slow
def test_torchrun_build_equals_single_process_build(tmp_path):
    write_ecg_folder(tmp_path / "ecgs", 5)
    model = tiny_model(seed=0)
    model.save_pretrained(tmp_path / "ckpt")
    source = f"folder:{tmp_path / 'ecgs'}"
    command = [sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={RANKS}", "-m", "index.build",
               "--source", source, "--out", str(tmp_path / "ranked"), "--model", str(tmp_path / "ckpt"),
               "--shard-size", "2", "--batch-size", "2"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)
    assert done.returncode == 0, done.stderr[-3000:]
    build_library(source, tmp_path / "single", model, shard_size=2, batch_size=2)
    ranked, single = Library.open(tmp_path / "ranked", model), Library.open(tmp_path / "single", model)
    assert ranked.manifest.model_path == str(tmp_path / "ckpt")
    assert ranked.table()["record_id"].tolist() == single.table()["record_id"].tolist()
    np.testing.assert_allclose(ranked.ecg_index().vectors(), single.ecg_index().vectors(), atol=1e-5)
