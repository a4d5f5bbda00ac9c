"""Where a loaded model came from: its folder, a content fingerprint, and the data line of its model card.

``model.provenance`` gives all three (and the melp version) as a small record that result files carry
(``train.evaluate``, ``python -m melp``), so a figure can always be traced to the weights that made it.
The fingerprint hashes the weights and the config (not the folder), so the same model has the same
fingerprint on every machine; retrieval libraries are matched to models by it.
"""
from __future__ import annotations

import hashlib
import json
import re
import weakref
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

MODEL_CARD = "README.md"
TRAINED_ON = re.compile(r"^\W*trained on\W*:?\W*(?P<text>.+?)\W*$", re.IGNORECASE)  # "**Trained on:** ..."
FINGERPRINT_CHARS = 16  # hex digits shown and stored (64 bits)
# Config keys that say where weights or tokenizers were loaded from, not what they are: the weights
# themselves are hashed, so the same model gives the same fingerprint on every machine.
LOCATION_KEY_SUFFIXES = ("_path", "_name_or_path")
VOLATILE_KEYS = frozenset({"transformers_version"})

_fingerprint_cache: "weakref.WeakKeyDictionary[Any, str]" = weakref.WeakKeyDictionary()


def _portable_config(value: Any) -> Any:
    """The config dict without location keys and version stamps, recursively."""
    if isinstance(value, dict):
        return {
            key: _portable_config(item)
            for key, item in value.items()
            if key not in VOLATILE_KEYS and not str(key).endswith(LOCATION_KEY_SUFFIXES)
        }
    if isinstance(value, (list, tuple)):
        return [_portable_config(item) for item in value]
    return value


def model_fingerprint(model: Any, fresh: bool = False) -> str:
    """Hash of a model's weights (every state_dict tensor: name, dtype, shape, bytes) and its config.

    Cached per model object; a model whose weights change in place after the first call keeps its
    first fingerprint (libraries are built from frozen checkpoints); ``fresh`` rehashes, without caching.
    """
    cached = None if fresh else _fingerprint_cache.get(model)
    if cached is not None:
        return cached
    import torch  # the model's tensors; only needed to read their bytes

    digest = hashlib.sha256()
    config = _portable_config(model.config.to_dict())
    digest.update(json.dumps(config, sort_keys=True, default=str).encode())
    for name, tensor in sorted(model.state_dict().items()):
        data = tensor.detach().cpu().contiguous().reshape(-1)
        digest.update(f"{name}|{data.dtype}|{tuple(tensor.shape)}".encode())
        digest.update(data.view(torch.uint8).numpy().tobytes())
    fingerprint = digest.hexdigest()[:FINGERPRINT_CHARS]
    if not fresh:  # a fresh hash leaves the cached one alone (an int8 model keeps its fp32 fingerprint)
        _fingerprint_cache[model] = fingerprint
    return fingerprint




@dataclass(frozen=True)
class Provenance:
    """What produced a result: the checkpoint folder, its fingerprint, its training data, the melp version."""

    name_or_path: str
    fingerprint: str
    trained_on: str | None
    melp_version: str
    precision: str = "fp32"  # how inference ran (melp.precision)

    def to_dict(self) -> dict[str, Any]:
        """As a result file stores it: a folder inside the working directory relative to it, so files
        committed with a checkpoint do not carry the path of the machine that wrote them."""
        return {**asdict(self), "name_or_path": _portable_path(self.name_or_path)}


def _portable_path(name_or_path: str) -> str:
    path = Path(name_or_path)
    if not path.is_absolute():
        return name_or_path
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:  # outside the working directory: as given
        return name_or_path


def trained_on(folder: str | Path | None) -> str | None:
    """The model card's 'Trained on:' line (README.md in a checkpoint folder), or None."""
    card = Path(folder) / MODEL_CARD if folder else None
    if card is None or not card.is_file():
        return None
    for line in card.read_text(encoding="utf-8", errors="replace").splitlines():
        match = TRAINED_ON.match(line.strip())
        if match:
            return match["text"].strip()
    return None


def provenance(model: Any) -> Provenance:
    import melp

    folder = getattr(model, "name_or_path", None)
    return Provenance(name_or_path=str(folder or "(built in memory)"), fingerprint=model_fingerprint(model),
                      trained_on=trained_on(folder), melp_version=melp.__version__,
                      precision=str(getattr(model, "precision", "fp32")))
