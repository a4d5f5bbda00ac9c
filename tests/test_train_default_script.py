"""scripts/train_default.sh, the command that reproduces the embedded checkpoint: its stages, run for real
on a tiny corpus with the tiny config (the real recipe is the same commands with bigger numbers)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from melp.models.melp import MelpModel
from tests.tiny_training import TINY_CONFIG

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "train_default.sh"


def _run(stage: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(SCRIPT), stage], cwd=REPO, env={**os.environ, **env},
                          capture_output=True, text=True, timeout=900)


@pytest.fixture()
def tiny_env(tmp_path):
    return {"PYTHON": sys.executable, "CONFIG": str(TINY_CONFIG), "N_RECORDS": "40", "N_HELDOUT": "24",
            "N_LIBRARY": "24", "WORKERS": "1",
            "CORPUS": str(tmp_path / "synth"), "HELDOUT": str(tmp_path / "heldout"),
            "RUN_DIR": str(tmp_path / "run"), "CHECKPOINT": str(tmp_path / "model"),
            "LIBRARY": str(tmp_path / "library"), "REAL": str(tmp_path / "no-real-records"),
            "PRETRAIN_ARGS": f"--store_dir={tmp_path / 'stores'} --max_steps=2 --eval_every=2 "
                             "--checkpoint_every=2 --grad_accum_steps=1"}


def test_an_unknown_stage_is_refused_before_anything_runs(tiny_env, tmp_path):
    result = _run("trian", tiny_env)
    assert result.returncode == 2
    assert "unknown stage 'trian'" in result.stderr and "all, data, train or measure" in result.stderr
    assert not (tmp_path / "synth").exists()


def test_stages_run_apart_give_a_measured_model_and_library(tiny_env, tmp_path):
    data = _run("data", tiny_env)
    assert data.returncode == 0, data.stdout + data.stderr
    assert (tmp_path / "synth").is_dir() and (tmp_path / "heldout").is_dir()
    assert not (tmp_path / "run").exists()  # the data stage trains nothing

    train = _run("train", tiny_env)
    assert train.returncode == 0, train.stdout + train.stderr
    assert f"({TINY_CONFIG})" in train.stdout  # the config it was told to use, named in the log
    model = MelpModel.from_pretrained(tmp_path / "model")
    assert model.config.ecg.width == 32
    assert not (tmp_path / "model" / "results").exists()  # measuring is its own stage

    measure = _run("measure", tiny_env)
    assert measure.returncode == 0, measure.stdout + measure.stderr
    results = tmp_path / "model" / "results"
    zeroshot = json.loads((results / "zeroshot-synth-heldout.json").read_text())
    assert 0.0 <= zeroshot["macro_auroc"] <= 1.0
    assert (results / "retrieval-synth-heldout.json").is_file()
    assert not (results / "zeroshot-real-samples.json").exists()  # REAL points nowhere: skipped
    assert (results / "training-metrics.csv").read_text().startswith("step,")
    assert (tmp_path / "library").is_dir() and any((tmp_path / "library").iterdir())


def test_without_a_config_it_picks_by_gpu_and_a_missing_corpus_is_named(tiny_env, tmp_path):
    env = {k: v for k, v in {**os.environ, **tiny_env}.items() if k != "CONFIG"}
    env["PRETRAIN_ARGS"] = f"--store_dir={tmp_path / 'stores'}"  # the chosen recipe as it is
    result = subprocess.run(["bash", str(SCRIPT), "train"], cwd=REPO, env=env, capture_output=True, text=True,
                            timeout=900)
    expected = "train/configs/demo-gpu.yaml" if torch.cuda.is_available() else "train/configs/demo.yaml"
    assert f"pretrain the demo preset ({expected})" in result.stdout
    assert result.returncode != 0 and str(tmp_path / "synth") in result.stderr  # no corpus yet: named
