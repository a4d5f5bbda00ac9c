"""The rule that says which heartbeats a sentence is about (training, evaluation and the app share it)."""
from __future__ import annotations

import pytest

from melp.data.heartbeats import type_code
from melp.grounding import NO_SENTENCE, WHOLE_RECORDING, sentence_heartbeat_kind, sentence_kind_codes


@pytest.mark.parametrize("sentence, kind", [
    ("premature ventricular complexes.", "pvc"),
    ("With occasional premature ventricular contractions", "pvc"),
    ("PVCs", "pvc"),
    ("ventricular bigeminy.", "pvc"),
    ("PVCs in a trigeminal pattern", "pvc"),
    ("ventricular premature complex", "pvc"),
    ("premature atrial complexes.", "pac"),
    ("PACs", "pac"),
    ("atrial premature complexes", "pac"),
    ("supraventricular extrasystoles", "pac"),
    ("sinus rhythm.", None),
    ("premature complexes.", None),  # no kind named
    ("atrial fibrillation with PVCs and PACs", None),  # two kinds: nothing single to point at
    ("left ventricular hypertrophy", None),
])
def test_sentences_naming_an_ectopic_beat_get_its_kind(sentence, kind):
    assert sentence_heartbeat_kind(sentence) == kind


def test_kind_codes_pad_each_report_to_the_sentence_slots():
    codes = sentence_kind_codes([["sinus rhythm.", "pvcs."], ["pacs."]], width=3)
    assert codes.tolist() == [[WHOLE_RECORDING, type_code("pvc"), NO_SENTENCE], [type_code("pac"), NO_SENTENCE, NO_SENTENCE]]
