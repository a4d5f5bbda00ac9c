"""Stopping a run and resuming it from its last checkpoint gives the uninterrupted run's weights."""
from __future__ import annotations

import torch

from tests.tiny_training import run_tiny, tiny_config
from train.checkpointing import checkpoint_path, load_checkpoint
from train.distributed import setup_distributed
from train.metrics_log import ClassLog, MetricsLog

TOTAL_STEPS = 8      # 24 records / (batch 4 x accumulation 2) = 3 steps per epoch: crosses two epochs
CHECKPOINT_EVERY = 2
KILLED_AT = 5        # the run dies one step after its step-4 checkpoint, mid-epoch


def _weights(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: tensor.detach().clone() for name, tensor in model.state_dict().items()}


def test_resumed_run_matches_uninterrupted_run_exactly(tmp_path):
    env = setup_distributed(device="cpu")
    common = [f"--max_steps={TOTAL_STEPS}", f"--checkpoint_every={CHECKPOINT_EVERY}"]
    straight, straight_state = run_tiny(tiny_config(tmp_path / "straight", *common), env)

    killed_dir = tmp_path / "killed"
    _, killed_state = run_tiny(tiny_config(killed_dir, *common, f"--stop_at_step={KILLED_AT}"), env)
    assert killed_state.step == KILLED_AT
    saved = load_checkpoint(checkpoint_path(killed_dir))
    assert saved["state"]["step"] == 4 and saved["state"]["batch_in_epoch"] == 2

    resumed, resumed_state = run_tiny(tiny_config(killed_dir, *common), env)
    assert resumed_state.step == straight_state.step == TOTAL_STEPS
    assert resumed_state.epoch == straight_state.epoch
    expected, found = _weights(straight.model), _weights(resumed.model)
    assert expected.keys() == found.keys()
    differing = [name for name in expected if not torch.equal(expected[name], found[name])]
    assert differing == []
    for name, value in straight.optimizer.state_dict()["state"].items():
        assert torch.equal(value["exp_avg"], resumed.optimizer.state_dict()["state"][name]["exp_avg"])


def test_without_resume_the_run_differs_from_a_restart(tmp_path):
    """Guards the test above: stopping early and training on from scratch must not match."""
    env = setup_distributed(device="cpu")
    common = [f"--max_steps={TOTAL_STEPS}", f"--checkpoint_every={CHECKPOINT_EVERY}"]
    straight, _ = run_tiny(tiny_config(tmp_path / "straight", *common, "--max_steps=4"), env)
    restarted, _ = run_tiny(tiny_config(tmp_path / "straight", *common, "--resume=false", "--max_steps=4",
                                        "--seed=1"), env)
    assert any(not torch.equal(a, b) for a, b in zip(_weights(straight.model).values(),
                                                       _weights(restarted.model).values()))


def test_resume_forgets_metric_rows_after_the_checkpoint(tmp_path):
    env = setup_distributed(device="cpu")
    common = [f"--max_steps={TOTAL_STEPS}", f"--checkpoint_every={CHECKPOINT_EVERY}"]
    run_tiny(tiny_config(tmp_path, *common, f"--stop_at_step={KILLED_AT}"), env)
    run_tiny(tiny_config(tmp_path, *common), env)
    steps = [int(row["step"]) for row in MetricsLog(tmp_path / "metrics.csv").read()]
    assert steps == list(range(1, TOTAL_STEPS + 1))
    class_log = ClassLog(tmp_path / "validation-per-class.jsonl")
    class_log.append(TOTAL_STEPS + 3, {"af": 0.5})  # as if a later run died after validating
    class_log.drop_after(TOTAL_STEPS)
    assert all(row["step"] <= TOTAL_STEPS for row in class_log.read())
    assert {"loss", "loss_rhythm", "loss_token", "loss_beat"} <= set(MetricsLog(tmp_path / "metrics.csv").read()[0])
