"""Shipped zero-shot prompt sets cover exactly the classes of their label sets, with several phrasings."""
from __future__ import annotations

import json
from importlib import resources

import pytest

from melp.datasets.challenge import challenge_classes
from melp.datasets.ptbxl import LABEL_SETS
from melp.datasets.text import normalise_report

MIN_PHRASINGS = 2


def _label_sets() -> dict[str, tuple[str, ...]]:
    sets = {f"ptbxl-{name}": names for name, names in LABEL_SETS.items()}
    sets.update({name: tuple(c[0] for c in challenge_classes(name)) for name in ("cpsc2018", "csn")})
    from melp.synth.conditions import STATEMENTS

    sets["synth"] = STATEMENTS
    return sets


@pytest.mark.parametrize("name", sorted(_label_sets()))
def test_prompt_set_covers_label_set_with_several_phrasings(name):
    prompts = json.loads((resources.files("melp.prompts") / f"{name}.json").read_text(encoding="utf-8"))
    assert set(prompts) == set(_label_sets()[name])
    for label, phrasings in prompts.items():
        assert len(phrasings) >= MIN_PHRASINGS, label
        assert all(normalise_report(text) == text for text in phrasings), label  # written as reports look
