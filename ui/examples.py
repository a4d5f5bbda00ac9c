"""The example gallery: labelled synthetic ECGs of the main conditions, made by melp.synth.simulate."""
from __future__ import annotations

import html
import logging
from dataclasses import dataclass, replace

from melp.record import EcgRecord
from ui.neighbours import thumbnail_svg

logger = logging.getLogger(__name__)

EXAMPLE_SEED = 2025  # fixed, so every visitor sees the same examples
RHYTHM_LEAD = "II"
# (label shown to the user, simulator condition ids)
EXAMPLE_CONDITIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Normal sinus rhythm", ("sinus_rhythm",)),
    ("Sinus bradycardia", ("sinus_bradycardia",)),
    ("Sinus tachycardia", ("sinus_tachycardia",)),
    ("Atrial fibrillation", ("atrial_fibrillation",)),
    ("Atrial flutter", ("atrial_flutter",)),
    ("First-degree AV block", ("sinus_rhythm", "first_degree_av_block")),
    ("Complete AV block", ("complete_av_block",)),
    ("Premature ventricular complexes", ("sinus_rhythm", "pvc")),
    ("Left bundle branch block", ("sinus_rhythm", "lbbb")),
    ("Right bundle branch block", ("sinus_rhythm", "rbbb")),
    ("Left ventricular hypertrophy", ("sinus_rhythm", "lvh")),
    ("Inferior ST elevation", ("sinus_rhythm", "st_elevation_inferior")),
    ("Anterior ST elevation", ("sinus_rhythm", "st_elevation_anterior")),
    ("WPW pre-excitation", ("sinus_rhythm", "wpw")),
    ("Prolonged QT", ("sinus_rhythm", "prolonged_qt")),
    ("Ventricular paced rhythm", ("ventricular_paced_rhythm",)),
)
GALLERY_CARD_STYLE = ("display:inline-block;vertical-align:top;width:250px;margin:3px;padding:6px;border:1px solid #ddd;"
                      "border-radius:6px;background:#fff;font-size:12px;color:#222;cursor:default")


@dataclass(frozen=True)
class Example:
    label: str
    conditions: tuple[str, ...]
    record: EcgRecord


def build_examples(simulate, seed: int = EXAMPLE_SEED) -> tuple[Example, ...]:
    """One simulated record per entry of EXAMPLE_CONDITIONS (simulate is melp.synth.simulate)."""
    examples = []
    for number, (label, conditions) in enumerate(EXAMPLE_CONDITIONS):
        record = simulate(list(conditions), seed=seed + number).record
        examples.append(Example(label, conditions, replace(record, record_id=f"example {number + 1}: {label}")))
    return tuple(examples)


def gallery_html(examples: tuple[Example, ...]) -> str:
    """Thumbnail cards of every example, labelled with its conditions."""
    cards = []
    for example in examples:
        thumb = thumbnail_svg(example.record.lead(RHYTHM_LEAD), example.record.fs)
        cards.append(f'<div style="{GALLERY_CARD_STYLE}"><b>{html.escape(example.label)}</b><br>{thumb}'
                     f"<br><span style='color:#555'>{html.escape(example.record.report or '')}</span></div>")
    return "<div>" + "".join(cards) + "</div>"


def find_example(examples: tuple[Example, ...], label: str | None) -> Example:
    for example in examples:
        if example.label == label:
            return example
    raise KeyError(f"no example {label!r}; examples are {[example.label for example in examples]}")
