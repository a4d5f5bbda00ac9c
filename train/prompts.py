"""Class prompts for zero-shot validation: the prompt sets shipped in ``melp/prompts`` (melp.prompt_sets)."""
from __future__ import annotations

from melp.prompt_sets import PTBXL_SETS, prompt_set

__all__ = ["PTBXL_SETS", "validation_prompts"]


def validation_prompts(dataset: str, label_names: tuple[str, ...]) -> dict[str, list[str]]:
    """label -> phrasings, from ``melp/prompts/<dataset>.json``, for every label of ``dataset``.

    ``ptbxl`` (all four label sets, labels named "super:NORM", ...) joins the four ptbxl-<set> files.
    """
    try:
        prompts = prompt_set(dataset)
    except FileNotFoundError as error:
        raise FileNotFoundError(f"{error}, or set --eval_every=0") from error
    missing = [label for label in label_names if label not in prompts]
    if missing:
        raise KeyError(f"melp/prompts/{dataset}.json: no phrasings for labels {missing}; add them")
    return prompts
