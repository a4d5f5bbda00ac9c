"""Class prompts for zero-shot validation: the prompt sets shipped in ``melp/prompts``."""
from __future__ import annotations

import json
from importlib import resources

PROMPT_PACKAGE = "melp.prompts"


PTBXL_SETS = ("super", "sub", "form", "rhythm")


def validation_prompts(dataset: str, label_names: tuple[str, ...]) -> dict[str, list[str]]:
    """label -> phrasings, from ``melp/prompts/<dataset>.json``, for every label of ``dataset``.

    ``ptbxl`` (all four label sets, labels named "super:NORM", ...) joins the four ptbxl-<set> files.
    """
    if dataset == "ptbxl":
        joined = {f"{name}:{label}": phrasings for name in PTBXL_SETS
                  for label, phrasings in _read_prompts(f"ptbxl-{name}").items()}
        return _complete(joined, label_names, "ptbxl-<set>")
    return _complete(_read_prompts(dataset), label_names, dataset)


def _read_prompts(dataset: str) -> dict[str, list[str]]:
    resource = resources.files(PROMPT_PACKAGE) / f"{dataset}.json"
    if not resource.is_file():
        raise FileNotFoundError(f"no prompt set for dataset {dataset!r}: expected melp/prompts/{dataset}.json "
                                "mapping each label to its phrasings; write one or set --eval_every=0")
    loaded = json.loads(resource.read_text(encoding="utf-8"))
    return {label: [value] if isinstance(value, str) else list(value) for label, value in loaded.items()}


def _complete(prompts: dict[str, list[str]], label_names: tuple[str, ...], file: str) -> dict[str, list[str]]:
    missing = [label for label in label_names if label not in prompts]
    if missing:
        raise KeyError(f"melp/prompts/{file}.json: no phrasings for labels {missing}; add them")
    return prompts
