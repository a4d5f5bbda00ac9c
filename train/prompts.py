"""Class prompts for zero-shot validation: the prompt sets shipped in ``melp/prompts``."""
from __future__ import annotations

import json
from importlib import resources

PROMPT_PACKAGE = "melp.prompts"


def validation_prompts(dataset: str, label_names: tuple[str, ...]) -> dict[str, list[str]]:
    """label -> phrasings, from ``melp/prompts/<dataset>.json``, for every label of ``dataset``."""
    resource = resources.files(PROMPT_PACKAGE) / f"{dataset}.json"
    if not resource.is_file():
        raise FileNotFoundError(f"no prompt set for dataset {dataset!r}: expected melp/prompts/{dataset}.json "
                                f"mapping each of {label_names} to its phrasings; write one or set --eval_every=0")
    loaded = json.loads(resource.read_text(encoding="utf-8"))
    prompts = {label: [value] if isinstance(value, str) else list(value) for label, value in loaded.items()}
    missing = [label for label in label_names if label not in prompts]
    if missing:
        raise KeyError(f"melp/prompts/{dataset}.json: no phrasings for labels {missing}; add them")
    return prompts
