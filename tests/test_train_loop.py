"""Loop behaviours beyond resume: early stopping on validation AUROC and best-model saving."""
from __future__ import annotations

import torch

from tests.tiny_training import tiny_config, tiny_trainer
from train.distributed import setup_distributed
from train.loop import fit
from train.metrics_log import MetricsLog


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

