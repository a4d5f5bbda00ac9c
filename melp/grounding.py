"""Which heartbeats a report sentence is about: the rule training, evaluation and the app share.

A sentence that names an ectopic beat ("premature ventricular complexes", "PACs", "ventricular
bigeminy") is about heartbeats of that kind; any other sentence is about the recording as a whole. The
model learns to point at heartbeats (``melp.losses.grounding_loss``) from this rule and the simulator's
beat table; the pointing-game evaluation and the app's highlighting use the same rule. Written by hand:
it is a short vocabulary match over the report styles the model was trained on, not a language task.
"""
from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from melp.data.heartbeats import type_code

WHOLE_RECORDING = 0  # sentence kind: about the whole recording (flat over heartbeats)
NO_SENTENCE = -1  # padding slot

_PVC = re.compile(r"\b(pvcs?|premature ventricular|ventricular (premature|ectopic|extrasystol\w*)|"
                  r"ventricular (bigemin\w*|trigemin\w*)|(bigemin\w*|trigemin\w*) pvcs?|pvcs? in a \w+ pattern)\b")
_PAC = re.compile(r"\b(pacs?|premature atrial|atrial (premature|ectopic|extrasystol\w*)|"
                  r"supraventricular (premature|extrasystol\w*))\b")


def sentence_heartbeat_kind(sentence: str) -> str | None:
    """"pvc" or "pac" when the sentence names that ectopic beat, else None (about the whole recording)."""
    text = (sentence or "").lower()
    is_pvc, is_pac = bool(_PVC.search(text)), bool(_PAC.search(text))
    if is_pvc == is_pac:  # neither, or both (no single kind to point at)
        return None
    return "pvc" if is_pvc else "pac"


def sentence_kind_codes(sentences: Sequence[Sequence[str]], width: int) -> np.ndarray:
    """(B, width) int64: heartbeat type code of each sentence (``WHOLE_RECORDING`` for none), NO_SENTENCE after."""
    codes = np.full((len(sentences), width), NO_SENTENCE, dtype=np.int64)
    for row, report in enumerate(sentences):
        for column, sentence in enumerate(report[:width]):
            kind = sentence_heartbeat_kind(sentence)
            codes[row, column] = WHOLE_RECORDING if kind is None else type_code(kind)
    return codes
