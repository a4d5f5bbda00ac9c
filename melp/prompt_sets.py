"""The prompt sets shipped in ``melp/prompts``: label -> phrasings, read once, shared by validation,
evaluation, calibrated findings and the app's presets."""
from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

PROMPT_PACKAGE = "melp.prompts"
PTBXL_SETS = ("super", "sub", "form", "rhythm")
# label sets whose statements ship with calibrated probabilities (melp.calibration)
CALIBRATED_SETS = ("ptbxl-super", "ptbxl-sub", "ptbxl-form", "ptbxl-rhythm", "synth")


@lru_cache(maxsize=None)
def _read(name: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    resource = resources.files(PROMPT_PACKAGE) / f"{name}.json"
    if not resource.is_file():
        raise FileNotFoundError(f"no prompt set {name!r}: expected melp/prompts/{name}.json mapping each label to "
                                "its phrasings; write one")
    loaded = json.loads(resource.read_text(encoding="utf-8"))
    return tuple((label, (value,) if isinstance(value, str) else tuple(value)) for label, value in loaded.items())


def prompt_set(name: str) -> dict[str, list[str]]:
    """label -> phrasings of ``melp/prompts/<name>.json`` (``ptbxl`` joins the four PTB-XL sets as "set:label")."""
    if name == "ptbxl":
        return {f"{label_set}:{label}": phrasings for label_set in PTBXL_SETS
                for label, phrasings in prompt_set(f"ptbxl-{label_set}").items()}
    return {label: list(phrasings) for label, phrasings in _read(name)}


def available() -> tuple[str, ...]:
    """Names of the shipped prompt sets."""
    return tuple(sorted(entry.name.removesuffix(".json") for entry in resources.files(PROMPT_PACKAGE).iterdir()
                        if entry.name.endswith(".json")))
