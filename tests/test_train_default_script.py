"""scripts/train_default.sh, the command that reproduces the embedded checkpoint: its stages, run for real
on a tiny synthetic corpus and a tiny PTB-XL folder with the tiny configs (the real recipe is the same
commands with bigger numbers)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from melp.models.melp import MelpModel
from tests.dataset_fixtures import write_ptbxl
from tests.test_datasets_ptbxl import LABEL_SPLITS, RECORDS
from tests.tiny_training import TINY_CONFIG

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "train_default.sh"
TINY_REAL_CONFIG = REPO / "train" / "configs" / "tiny-real.yaml"

pytestmark = pytest.mark.slow


def _run(stage: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(SCRIPT), stage], cwd=REPO, env={**os.environ, **env},
                          capture_output=True, text=True, timeout=900)


@pytest.fixture()
def tiny_env(tmp_path):
    (tmp_path / "ptbxl").mkdir()
    write_ptbxl(tmp_path / "ptbxl", RECORDS, LABEL_SPLITS)
    return {"PYTHON": sys.executable, "CONFIG": str(TINY_CONFIG), "REAL_CONFIG": str(TINY_REAL_CONFIG),
            "PTBXL": str(tmp_path / "ptbxl"), "N_RECORDS": "40", "N_HELDOUT": "24", "N_LIBRARY": "8",
            "N_LIBRARY_REAL": "3", "WORKERS": "1", "PROBE_SETS": "", "GROUNDING_N": "2",
            "CORPUS": str(tmp_path / "synth"), "HELDOUT": str(tmp_path / "heldout"),
            "RUN_DIR": str(tmp_path / "run"), "REAL_RUN_DIR": str(tmp_path / "run-real"),
            "CHECKPOINT": str(tmp_path / "model"), "LIBRARY": str(tmp_path / "library"),
            "REAL": str(tmp_path / "no-real-records"), "PROMPTS_OUT": str(tmp_path / "prompts"),
            "PRETRAIN_ARGS": f"--store_dir={tmp_path / 'stores'} --max_steps=2 --eval_every=2 "
                             "--checkpoint_every=2 --grad_accum_steps=1 --warmup_steps=1"}


def test_an_unknown_stage_is_refused_before_anything_runs(tiny_env, tmp_path):
    result = _run("trian", tiny_env)
    assert result.returncode == 2
    assert "unknown stage 'trian'" in result.stderr and "data, synth, real, train or measure" in result.stderr
    assert not (tmp_path / "synth").exists()


def test_without_ptbxl_it_says_what_it_needs_before_training(tiny_env, tmp_path):
    result = _run("real", {**tiny_env, "PTBXL": ""})
    assert result.returncode == 3
    assert "PTB-XL is needed" in result.stderr and "physionet.org/content/ptb-xl" in result.stderr
    assert not (tmp_path / "run-real").exists()


def test_stages_run_apart_give_a_measured_model_and_library(tiny_env, tmp_path):
    data = _run("data", tiny_env)
    assert data.returncode == 0, data.stdout + data.stderr
    assert (tmp_path / "synth").is_dir() and (tmp_path / "heldout").is_dir()
    assert not (tmp_path / "run").exists()  # the data stage trains nothing

    train = _run("train", tiny_env)  # stage 1 (synthetic), then stage 2 (PTB-XL + synthetic) from it
    assert train.returncode == 0, train.stdout + train.stderr
    assert f"({TINY_CONFIG})" in train.stdout and f"({TINY_REAL_CONFIG})" in train.stdout
    model = MelpModel.from_pretrained(tmp_path / "model")
    assert model.config.ecg.width == 32 and model.pools_heartbeats
    assert not (tmp_path / "model" / "results").exists()  # measuring is its own stage

    measure = _run("measure", tiny_env)
    assert measure.returncode == 0, measure.stdout + measure.stderr
    results = tmp_path / "model" / "results"
    zeroshot = json.loads((results / "zeroshot-synth-heldout.json").read_text())
    assert 0.0 <= zeroshot["macro_auroc"] <= 1.0
    assert (results / "retrieval-synth-heldout.json").is_file()
    selection = json.loads((results / "prompt-selection.json").read_text())  # chosen on the tiny fold 9 ...
    assert selection["fold"] == 9 and set(selection["sets"]) == {"super", "sub", "form", "rhythm"}
    assert sorted(path.name for path in (tmp_path / "prompts").iterdir()) == [  # ... written where told
        "ptbxl-form.json", "ptbxl-rhythm.json", "ptbxl-sub.json", "ptbxl-super.json"]
    assert set(json.loads((results / "ptbxl-fold10.json").read_text())["zeroshot"]) == {"super", "sub", "form", "rhythm"}
    assert "pvc" in json.loads((results / "grounding.json").read_text())
    assert not (results / "zeroshot-real-samples.json").exists()  # REAL points nowhere: skipped
    assert (results / "training-metrics.csv").read_text().startswith("step,")
    manifest = json.loads((tmp_path / "library" / "manifest.json").read_text())
    assert manifest["source"].startswith("ptbxl-train:PTBXL:3;")


def test_without_a_config_it_picks_by_gpu_and_a_missing_corpus_is_named(tiny_env, tmp_path):
    env = {k: v for k, v in {**os.environ, **tiny_env}.items() if k != "CONFIG"}
    env["PRETRAIN_ARGS"] = f"--store_dir={tmp_path / 'stores'}"  # the chosen recipe as it is
    result = subprocess.run(["bash", str(SCRIPT), "synth"], cwd=REPO, env=env, capture_output=True, text=True,
                            timeout=900)
    expected = "train/configs/demo-gpu.yaml" if torch.cuda.is_available() else "train/configs/demo.yaml"
    assert f"({expected})" in result.stdout
    assert result.returncode != 0 and str(tmp_path / "synth") in result.stderr  # no corpus yet: named
