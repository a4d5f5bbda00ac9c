"""Loop behaviours beyond resume: early stopping on validation AUROC and best-model saving."""
from __future__ import annotations

import pytest
import torch

from tests.tiny_training import tiny_config, tiny_trainer
from train.distributed import setup_distributed
from train.loop import CLASS_LOG_FILE, PER_CLASS_KEY, fit
from train.metrics_log import ClassLog, MetricsLog


class ScriptedAuroc:
    """An eval_fn replaying fixed AUROC values, to drive the early-stopping logic deterministically."""

    def __init__(self, values: list[float]) -> None:
        self.values = list(values)
        self.calls = 0

    def __call__(self, model: torch.nn.Module) -> dict[str, float]:
        self.calls += 1
        return {"val_auroc": self.values.pop(0)}


def test_patience_stops_after_validations_without_gain(tmp_path):
    env = setup_distributed(device="cpu")
    trainer = tiny_trainer(tiny_config(tmp_path, "--max_steps=8", "--eval_every=1", "--patience=2"), env)
    trainer.eval_fn = ScriptedAuroc([0.6, 0.7, 0.65, 0.69, 0.9, 0.9, 0.9, 0.9])
    state = fit(trainer)
    assert state.stopped_early and state.step == 4 and trainer.eval_fn.calls == 4
    assert state.best_auroc == 0.7
    assert (tmp_path / "best" / "config.json").is_file()
    assert [row["val_auroc"] for row in MetricsLog(tmp_path / "metrics.csv").read() if row["val_auroc"]] == \
        ["0.6", "0.7", "0.65", "0.69"]


def test_zero_patience_never_stops_early(tmp_path):
    env = setup_distributed(device="cpu")
    trainer = tiny_trainer(tiny_config(tmp_path, "--max_steps=3", "--eval_every=1", "--patience=0"), env)
    trainer.eval_fn = ScriptedAuroc([0.9, 0.5, 0.4])
    state = fit(trainer)
    assert not state.stopped_early and state.step == 3



class ScriptedPerClass(ScriptedAuroc):
    """Also reports per-class values, as ZeroShotValidator does."""

    def __call__(self, model: torch.nn.Module) -> dict:
        macro = super().__call__(model)["val_auroc"]
        return {"val_auroc": macro, PER_CLASS_KEY: {"af": macro, "q_waves": 0.5}}


def test_per_class_validation_goes_to_its_own_log_and_a_fresh_run_clears_it(tmp_path):
    env = setup_distributed(device="cpu")
    trainer = tiny_trainer(tiny_config(tmp_path, "--max_steps=2", "--eval_every=1"), env)
    trainer.eval_fn = ScriptedPerClass([0.6, 0.8])
    fit(trainer)
    assert ClassLog(tmp_path / CLASS_LOG_FILE).read() == [
        {"step": 1, "auroc": {"af": 0.6, "q_waves": 0.5}}, {"step": 2, "auroc": {"af": 0.8, "q_waves": 0.5}}]
    assert [row["val_auroc"] for row in MetricsLog(tmp_path / "metrics.csv").read() if row["val_auroc"]] == \
        ["0.6", "0.8"]  # metrics.csv keeps its fixed columns

    again = tiny_trainer(tiny_config(tmp_path, "--max_steps=1", "--warmup_steps=0", "--eval_every=1", "--resume=false"), env)
    again.eval_fn = ScriptedPerClass([0.7])
    fit(again)
    assert ClassLog(tmp_path / CLASS_LOG_FILE).read() == [{"step": 1, "auroc": {"af": 0.7, "q_waves": 0.5}}]
    assert [row["step"] for row in MetricsLog(tmp_path / "metrics.csv").read()] == ["1", "1"]  # train + val rows


def test_zero_shot_validator_reports_every_class(tmp_path):
    env = setup_distributed(device="cpu")
    trainer = tiny_trainer(tiny_config(tmp_path, "--max_steps=1", "--warmup_steps=0"), env, validate_on_main=True)
    with torch.no_grad():  # as the loop calls it
        results = trainer.eval_fn(trainer.model)
    assert set(results[PER_CLASS_KEY]) <= {"normal", "af", "block", "tachy"} and results[PER_CLASS_KEY]
    assert results["val_auroc"] == pytest.approx(sum(results[PER_CLASS_KEY].values()) / len(results[PER_CLASS_KEY]))
