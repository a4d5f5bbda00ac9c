"""Stage 2: pretrain MELP on ECG-report pairs.

    python -m train.pretrain --config train/configs/demo.yaml [--field=value ...]
    torchrun --nproc_per_node 8 -m train.pretrain --config train/configs/paper.yaml --data_root=...

Builds the model (``MelpConfig.preset`` + overrides, or ``init_from``), the datasets and the shared
loop; validates by zero-shot macro AUROC; saves the final model with ``save_pretrained``.
"""
from __future__ import annotations

import argparse
import logging
import math
from pathlib import Path

from melp.checkpoint import CheckpointError, checkpoint_target, copy_pretrained
from melp.config import MelpConfig
from melp.logs import configure_logging
from melp.models.melp import MelpModel
from train.builders import (PretrainStep, ZeroShotValidator, build_model, dataset_labels, open_split,
                            training_set, validation_source)
from train.config import TrainConfig, load_config
from train.data import take_prefix
from train.distributed import DistEnv, cleanup_distributed, setup_distributed
from train.loop import BEST_DIR, TrainState, build_trainer, fit, seed_everything
from train.prompts import validation_prompts

log = logging.getLogger(__name__)


def parse_args(argv: list[str] | None) -> tuple[str, list[str]]:
    """``--config PATH`` plus the ``--field=value`` overrides."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True, help="YAML file of TrainConfig fields (train/configs/)")
    args, overrides = parser.parse_known_args(argv)
    return args.config, overrides


def make_validator(config: TrainConfig, model_config: MelpConfig, env: DistEnv) -> ZeroShotValidator | None:
    """Zero-shot validation on the val split, held by rank 0, when the run validates at all."""
    if config.eval_every <= 0 and config.patience <= 0:
        return None
    source = validation_source(config)
    dataset = take_prefix(open_split(config, config.val_split, model_config, env, source), config.max_val_records)
    names, _ = dataset_labels(dataset)
    if not names:
        log.warning("%s/%s has no labels; zero-shot validation is off", source[0], config.val_split)
        return None
    return ZeroShotValidator(dataset, validation_prompts(source[0], names)) if env.is_main else None


def save_target(config: TrainConfig) -> Path:
    """Where the final model goes; refused before any training when it is a folder that holds no model."""
    try:
        return checkpoint_target(config.save_dir or Path(config.output_dir) / "final")
    except CheckpointError as error:
        raise FileExistsError(f"{error}; choose another --save_dir") from error


def save_final(config: TrainConfig, model: MelpModel, state: TrainState) -> Path | None:
    """The best validated model (or the last one) to ``save_dir``; nothing when the run was cut short."""
    if state.step < config.max_steps and not state.stopped_early:
        log.info("stopped at step %d of %d; resume with the same command", state.step, config.max_steps)
        return None
    target = save_target(config)
    best = Path(config.output_dir) / BEST_DIR
    if state.best_auroc > -math.inf and best.is_dir():  # this run (or the one it resumed) validated
        copy_pretrained(best, target)
    else:
        model.save_pretrained(target)
    log.info("saved the final model to %s", target)
    return target


def main(argv: list[str] | None = None) -> int:
    config_path, overrides = parse_args(argv)
    config = load_config(config_path, overrides)
    save_target(config)  # a wrong --save_dir fails now, not after the whole run
    env = setup_distributed()
    configure_logging(logging.INFO if env.is_main else logging.WARNING, timestamps=True)
    seed_everything(config.seed, rank=0)  # identical initial weights on every rank
    model = build_model(config)
    seed_everything(config.seed, env.rank)
    train_set = training_set(config, model.config, env)
    validator = make_validator(config, model.config, env)
    trainer = build_trainer(model, PretrainStep(model.config), train_set, config, env, validator)
    state = fit(trainer)
    if env.is_main:
        save_final(config, model, state)
    cleanup_distributed()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
