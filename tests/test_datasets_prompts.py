"""Zero-shot prompt sets cover exactly the classes of their label sets; written ones have several phrasings."""
from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

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


CANDIDATES = Path(__file__).resolve().parents[1] / "train" / "prompt_candidates"
CHOSEN_ON_FOLD_9 = {f"ptbxl-{name}" for name in LABEL_SETS}  # train.select_prompts writes these


def _shipped(name: str) -> dict[str, list[str]]:
    return json.loads((resources.files("melp.prompts") / f"{name}.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", sorted(_label_sets()))
def test_written_phrasings_cover_the_label_set_several_each(name):
    """The phrasings written for each statement: shipped as they are, or (PTB-XL) the candidates that
    train.select_prompts chooses from."""
    path = CANDIDATES / f"{name}.json"
    prompts = json.loads(path.read_text(encoding="utf-8")) if name in CHOSEN_ON_FOLD_9 else _shipped(name)
    assert set(prompts) == set(_label_sets()[name])
    for label, phrasings in prompts.items():
        assert len(phrasings) >= MIN_PHRASINGS, label
        assert all(normalise_report(text) == text for text in phrasings), label  # written as reports look


@pytest.mark.parametrize("name", sorted(CHOSEN_ON_FOLD_9))
def test_phrasings_chosen_on_fold_9_are_a_candidate_each(name):
    """Each shipped PTB-XL statement has its written phrasings, one plain name, or both (train.select_prompts)."""
    written, shipped = json.loads((CANDIDATES / f"{name}.json").read_text(encoding="utf-8")), _shipped(name)
    assert set(shipped) == set(_label_sets()[name])
    for label, phrasings in shipped.items():
        assert all(normalise_report(text) == text for text in phrasings), label
        assert (phrasings == written[label] or len(phrasings) == 1
                or (phrasings[:-1] == written[label] and phrasings[-1] not in written[label])), label
