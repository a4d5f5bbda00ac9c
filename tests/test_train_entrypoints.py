"""The thin entry points on tiny on-disk data: pretrain, text MLM, linear probe and fine-tuning."""
from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from melp.models.melp import MelpModel
from tests.dataset_fixtures import sine_signal, write_mimic, write_ptbxl
from tests.tiny_training import TINY_CONFIG
from train import pretrain, probe, text_mlm
from train.builders import build_model, build_model_config
from train.config import load_config
from train.data import sample_fraction
from train.metrics_log import MetricsLog

STATEMENTS = ("sinus_rhythm", "atrial_fibrillation")   # names with shipped prompts (melp/prompts/synth.json)
REPORTS = (["Sinus rhythm", "Normal ECG"], ["Atrial fibrillation", "Abnormal ECG"])


def _synth_corpus(root, n_subjects=60):
    studies = [{"subject_id": 10000000 + s, "study_id": 40000000 + s, "report_lines": REPORTS[s % 2],
                "signal": sine_signal(s), "labels": (1 - s % 2, s % 2)} for s in range(n_subjects)]
    return write_mimic(root, studies, STATEMENTS)


def test_pretrain_cli_validates_and_saves_a_loadable_model(tmp_path):
    corpus = _synth_corpus(tmp_path / "corpus")
    pretrain.main(["--config", str(TINY_CONFIG), f"--data_root={corpus}", f"--output_dir={tmp_path / 'run'}",
                   f"--save_dir={tmp_path / 'final'}", "--max_steps=4", "--eval_every=2", "--max_val_records=0"])
    rows = MetricsLog(tmp_path / "run" / "metrics.csv").read()
    assert [row["step"] for row in rows if row["val_auroc"]] == ["2", "4"]
    model = MelpModel.from_pretrained(tmp_path / "final")
    assert model.config.ecg.width == load_config(TINY_CONFIG).model_overrides["ecg"]["width"]


def test_retraining_into_a_model_folder_keeps_its_card_and_results(tmp_path):
    corpus, final = _synth_corpus(tmp_path / "corpus"), tmp_path / "final"
    args = ["--config", str(TINY_CONFIG), f"--data_root={corpus}", f"--save_dir={final}", "--max_steps=2",
            "--eval_every=2", "--max_val_records=0"]
    pretrain.main([*args, f"--output_dir={tmp_path / 'run'}"])
    (final / "README.md").write_text("model card")
    (final / "results").mkdir()
    (final / "results" / "zeroshot.json").write_text("{}")
    first = (final / "model.safetensors").read_bytes()
    pretrain.main([*args, f"--output_dir={tmp_path / 'second'}", "--seed=1"])
    assert (final / "README.md").read_text() == "model card" and (final / "results" / "zeroshot.json").is_file()
    assert (final / "model.safetensors").read_bytes() != first  # the model itself was replaced
    MelpModel.from_pretrained(final)


def test_a_save_dir_that_holds_no_model_is_refused_before_training(tmp_path):
    (tmp_path / "notes").mkdir()
    with pytest.raises(FileExistsError, match="choose another --save_dir"):
        pretrain.main(["--config", str(TINY_CONFIG), f"--data_root={tmp_path / 'absent'}",
                       f"--output_dir={tmp_path / 'run'}", f"--save_dir={tmp_path / 'notes'}"])
    assert not (tmp_path / "run").exists()  # nothing was built or trained


def test_pretrain_converts_splits_once_into_memmap_stores(tmp_path):
    corpus = _synth_corpus(tmp_path / "corpus")
    args = ["--config", str(TINY_CONFIG), f"--data_root={corpus}", f"--store_dir={tmp_path / 'stores'}",
            "--max_steps=2", "--eval_every=2", "--max_val_records=0"]
    pretrain.main([*args, f"--output_dir={tmp_path / 'run'}"])
    manifests = sorted(path.parent for path in (tmp_path / "stores").glob("*/store_manifest.json"))
    # one folder per split, suffixed with the hash of the model's preprocessing
    assert [re.sub(r"-[0-9a-f]{8}$", "", path.name) for path in manifests] == ["synth-train", "synth-val"]
    written = (manifests[0] / "signals.f16.npy").stat().st_mtime_ns
    pretrain.main([*args, f"--output_dir={tmp_path / 'second'}"])
    assert (manifests[0] / "signals.f16.npy").stat().st_mtime_ns == written


def test_pretrain_cli_rejects_unknown_override(tmp_path):
    with pytest.raises(ValueError, match="unknown key 'max_step'"):
        pretrain.main(["--config", str(TINY_CONFIG), "--max_step=4"])


def test_text_mlm_output_loads_as_the_text_tower(tmp_path):
    reports = tmp_path / "reports.txt"
    reports.write_text("\n".join(["sinus rhythm. normal ecg.", "atrial fibrillation. abnormal ecg."] * 8))
    out = text_mlm.main(["--out", str(tmp_path / "bert"), "--texts", str(reports), f"--output_dir={tmp_path / 'run'}",
                         "--batch_size=4", "--max_steps=2", "--warmup_steps=0", "--lr=1e-3"])
    config = load_config(TINY_CONFIG, [f"--model_overrides={{text: {{model_path: {out}}}}}"])
    model = MelpModel(build_model_config(config))
    base = build_model(load_config(TINY_CONFIG))
    top = "text_encoder.bert.encoder.layer.5.output.dense.weight"
    assert not torch.equal(model.state_dict()[top], base.state_dict()[top])


def test_label_fraction_is_fixed_by_the_seed():
    first, again = sample_fraction(1000, 0.01, seed=0), sample_fraction(1000, 0.01, seed=0)
    assert len(first) == 10 and np.array_equal(first, again)
    assert not np.array_equal(first, sample_fraction(1000, 0.01, seed=1))


def test_linear_probe_separates_separable_features():
    rng = np.random.default_rng(0)
    labels = {split: (rng.random((n, 2)) < 0.5).astype(np.float32) for split, n in
              (("train", 400), ("val", 100), ("test", 100))}
    features = {split: np.concatenate([y * 2.0, rng.standard_normal((len(y), 6))], axis=1) + rng.normal(0, 0.5, (len(y), 8))
                for split, y in labels.items()}
    result = probe.probe_from_features(features, labels, ("a", "b"), fraction=0.1, seed=0)
    assert result["n_train"] == 40
    assert result["macro_auroc"] > 0.9


def test_linear_probe_chooses_its_penalty_on_validation_only():
    """The L2 strength comes from the grid by validation AUROC: the test labels never change the choice."""
    rng = np.random.default_rng(0)
    labels = {split: (rng.random((n, 2)) < 0.5).astype(np.float32) for split, n in
              (("train", 400), ("val", 200), ("test", 200))}
    features = {split: np.concatenate([2 * y + rng.normal(0, 1.0, y.shape), rng.standard_normal((len(y), 50))], axis=1)
                for split, y in labels.items()}
    result = probe.probe_from_features(features, labels, ("a", "b"), fraction=1.0, seed=0)
    shuffled = probe.probe_from_features(features, {**labels, "test": labels["test"][::-1]}, ("a", "b"), 1.0, 0)
    assert result["C"] in probe.PROBE_C_GRID
    assert (shuffled["C"], shuffled["val_macro_auroc"]) == (result["C"], result["val_macro_auroc"])
    assert result["macro_auroc"] > 0.8 and abs(shuffled["macro_auroc"] - 0.5) < 0.15


def test_linear_probe_without_a_usable_validation_split_keeps_the_first_strength():
    rng = np.random.default_rng(0)
    features = {split: rng.standard_normal((n, 4)) for split, n in (("train", 50), ("val", 10), ("test", 20))}
    labels = {"train": (rng.random((50, 2)) < 0.5).astype(float), "val": np.zeros((10, 2)),
              "test": (rng.random((20, 2)) < 0.5).astype(float)}  # fold 9 without a positive: AUROC undefined
    assert probe.probe_from_features(features, labels, ("a", "b"), 1.0)["C"] == probe.PROBE_C_GRID[0]


@pytest.fixture
def ptbxl_and_model(tmp_path):
    records = [{"ecg_id": i + 1, "patient_id": i, "report": "sinus rhythm", "strat_fold": 9 if i % 5 == 3 else 10 if i % 5 == 4 else 1,
                "scp_codes": {"NORM": 100.0} if i % 2 else {"IMI": 100.0}} for i in range(30)]
    (tmp_path / "ptbxl").mkdir()
    root = write_ptbxl(tmp_path / "ptbxl", records)
    model = build_model(load_config(TINY_CONFIG))
    model.save_pretrained(tmp_path / "model")
    return root, tmp_path / "model"


def test_probe_cli_reports_test_auroc(ptbxl_and_model, tmp_path):
    root, model = ptbxl_and_model
    result = probe.main(["--dataset", "ptbxl-super", "--root", str(root), "--model", str(model),
                         "--fraction", "0.5", "--out", str(tmp_path / "probe.json")])
    assert 0.0 <= result["macro_auroc"] <= 1.0 and (tmp_path / "probe.json").is_file()


def test_finetune_cli_trains_through_the_loop(ptbxl_and_model, tmp_path):
    root, model = ptbxl_and_model
    result = probe.main(["--dataset", "ptbxl-super", "--root", str(root), "--model", str(model), "--finetune",
                         f"--output_dir={tmp_path / 'ft'}", "--batch_size=4", "--max_steps=2", "--eval_every=1",
                         "--warmup_steps=0", "--num_workers=0", "--checkpoint_every=2"])
    assert result["task"] == "finetune" and 0.0 <= result["macro_auroc"] <= 1.0
    assert (tmp_path / "ft" / "best" / "classifier_head.safetensors").is_file()
