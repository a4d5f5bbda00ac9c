"""``melp.load``: the one way to get a ready model, from the embedded default checkpoint or any folder."""
from __future__ import annotations

import logging
from pathlib import Path

import torch

from melp.checkpoint import CONFIG_FILE, WEIGHTS_FILE
from melp.models.melp import MelpModel

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CHECKPOINT = REPO_ROOT / "checkpoints" / "melp-demo"
TRAIN_DEFAULT_COMMAND = "make default-checkpoint"  # scripts/train_default.sh


def load(path: str | Path | None = None, device: str | torch.device | None = None,
         precision: str = "fp32") -> MelpModel:
    """A ``MelpModel`` in eval mode on ``device`` (default CPU).

    ``path`` None loads the embedded default checkpoint ``checkpoints/melp-demo``; otherwise any folder
    written by ``save_pretrained``. ``precision`` "fp32" (default), "bf16", "int8" or "auto" (the fastest
    path the hardware runs well; see melp.precision): the same API and float32 outputs, for inference
    only. Thread settings (``torch.set_num_threads``) are left to the caller.
    """
    folder = DEFAULT_CHECKPOINT if path is None else Path(path).expanduser()
    if not (folder / CONFIG_FILE).is_file() or not (folder / WEIGHTS_FILE).is_file():
        if path is None:
            raise FileNotFoundError(
                f"{folder}: the embedded default checkpoint is missing (expected {CONFIG_FILE} and {WEIGHTS_FILE}); "
                f"train it with `{TRAIN_DEFAULT_COMMAND}` or pass melp.load(path) a save_pretrained folder"
            )
        raise FileNotFoundError(
            f"{folder}: not a MELP checkpoint folder (expected {CONFIG_FILE} and {WEIGHTS_FILE}); pass a folder "
            "written by model.save_pretrained(...), or melp.load() for the embedded default"
        )
    model = MelpModel.from_pretrained(folder, device=device)
    model.set_precision(precision)
    logger.info("loaded MELP model from %s on %s (%s)", folder, model.device, model.precision)
    return model
