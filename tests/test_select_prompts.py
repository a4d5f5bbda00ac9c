"""train.select_prompts: per statement, the written phrasings, the plain name or both, by fold-9 AUROC."""
from __future__ import annotations

import json

import numpy as np

from train.select_prompts import candidates, choose, write_prompt_sets

DIRECTIONS = {"useless": [0.0, 1.0], "aligned": [1.0, 0.0], "opposite": [-1.0, 0.0], "half": [1.0, 1.0]}


class _Model:
    """class_embeddings as the real model computes them: the renormalised mean of the phrasings' vectors."""

    def class_embeddings(self, prompts):
        rows = [np.mean([DIRECTIONS[text] for text in group], axis=0) for group in prompts]
        return np.stack([row / np.linalg.norm(row) for row in rows])


def test_each_statement_gets_the_candidate_that_ranks_its_records_best():
    rng = np.random.default_rng(0)
    truth = rng.random(200) < 0.3
    rhythm = np.stack([np.where(truth, 1.0, -1.0) + rng.normal(0, 0.8, 200), rng.normal(0, 1, 200)], axis=1)
    labels = np.stack([truth, truth, truth, np.zeros(200, bool)], axis=1).astype(float)
    written = {"A": ["useless"], "B": ["aligned"], "C": ["opposite"], "D": ["aligned"]}
    plain = {"A": "aligned", "B": "useless", "C": "half", "D": "opposite"}
    chosen = choose(_Model(), rhythm, labels, written, plain)
    assert chosen["A"]["kind"] == "plain" and chosen["A"]["phrasings"] == ["aligned"]
    assert chosen["B"]["kind"] == "written" and chosen["B"]["auroc"]["written"] > 0.8 > chosen["B"]["auroc"]["plain"]
    assert chosen["C"]["kind"] == "plain"  # "half" beats the opposite direction and their mean
    assert chosen["D"] == {"kind": "written", "phrasings": ["aligned"], "auroc": {}, "positives": 0}  # no positives


def test_both_does_not_repeat_a_plain_name_already_written():
    assert candidates(["sinus rhythm", "normal sinus rhythm"], "sinus rhythm")["both"] == ["sinus rhythm",
                                                                                            "normal sinus rhythm"]
    assert candidates(["nsr"], "sinus rhythm")["both"] == ["nsr", "sinus rhythm"]


def test_the_chosen_phrasings_are_written_as_prompt_sets(tmp_path):
    selection = {"rhythm": {"SR": {"kind": "plain", "phrasings": ["sinus rhythm"], "auroc": {}, "positives": 9}}}
    (path,) = write_prompt_sets(selection, tmp_path)
    assert path.name == "ptbxl-rhythm.json" and json.loads(path.read_text()) == {"SR": ["sinus rhythm"]}
