"""Resumable checkpoints: written atomically, read with ``weights_only=True``.

A checkpoint holds the unwrapped model's state, the optimiser, the step, the data position (epoch and
micro-batch within it), every rank's RNG states, the training config and the model config, so a
resumed run continues at the exact next batch and reproduces an uninterrupted run bit for bit.
"""
from __future__ import annotations

import logging
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from melp.atomic import remove_stale_file_temporaries, replacing

log = logging.getLogger(__name__)

CHECKPOINT_NAME = "checkpoint.pt"
FORMAT_VERSION = 1


def capture_rng_state() -> dict[str, Any]:
    """This process's python, numpy, torch (and CUDA) generator states, as weights_only-safe types."""
    py_version, py_state, py_gauss = random.getstate()
    np_state = np.random.get_state(legacy=False)
    state: dict[str, Any] = {
        "python": [py_version, list(py_state), py_gauss],
        "numpy": {"bit_generator": np_state["bit_generator"],
                  "key": torch.from_numpy(np_state["state"]["key"].astype(np.int64)),
                  "pos": int(np_state["state"]["pos"]),
                  "has_gauss": int(np_state["has_gauss"]), "gauss": float(np_state["gauss"])},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict[str, Any]) -> None:
    """Inverse of :func:`capture_rng_state`."""
    py_version, py_state, py_gauss = state["python"]
    random.setstate((py_version, tuple(py_state), py_gauss))
    np_saved = state["numpy"]
    np.random.set_state({
        "bit_generator": np_saved["bit_generator"],
        "state": {"key": np_saved["key"].numpy().astype(np.uint32), "pos": np_saved["pos"]},
        "has_gauss": np_saved["has_gauss"], "gauss": np_saved["gauss"],
    })
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def checkpoint_path(output_dir: str | Path) -> Path:
    return Path(output_dir) / CHECKPOINT_NAME


def save_checkpoint(path: str | Path, state: dict[str, Any], step: int) -> None:
    """Write ``state`` to ``path`` atomically: a temporary file in the same folder, then a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_file_temporaries(path)  # a save killed mid-write left one (rank 0 is the only writer)
    with replacing(path) as tmp:
        torch.save({"format_version": FORMAT_VERSION, **state}, tmp)
    log.info("saved checkpoint %s at step %d", path, step)


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint` (never unpickles arbitrary objects)."""
    path = Path(path)
    remove_stale_file_temporaries(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no checkpoint file; expected one written by "
                                "train.checkpointing.save_checkpoint (set --resume=false to start fresh)")
    state = torch.load(path, map_location=map_location, weights_only=True)
    found = state.get("format_version")
    if found != FORMAT_VERSION:
        raise ValueError(f"{path}: checkpoint format_version {found}, expected {FORMAT_VERSION}; "
                         "it was written by another version of train/checkpointing.py")
    return state
