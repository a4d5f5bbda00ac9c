"""How a typed prompt is read: a shipped statement (answered with its calibrated probability), a shipped
statement denied ("no atrial fibrillation": answered with one minus its probability, because the text tower
does not read negation: it ranks ECGs for "no atrial fibrillation" as for "atrial fibrillation"), free text
about ECGs (answered with where this ECG stands among reference ECGs), or not about ECGs at all.

Matching forgives case, punctuation, small misspellings (difflib's ratio, word by word: a misspelt word
keeps about its length, so "paroxysmal ventricular tachycardia" is not the supraventricular one, nor
"anterior" "inferior") and the common abbreviations of ``SYNONYMS``; the ECG vocabulary is every word of
the shipped prompt sets and the simulator's report phrasings. Plain string work, written here because it
is a few lines over the project's own vocabulary.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from melp.prompt_sets import CALIBRATED_SETS, prompt_set

MATCH_RATIO = 0.92  # difflib ratio for "the same statement, misspelt"
WORD_RATIO = 0.85  # ... and for "an ECG word, misspelt"
MISSPELT_WORD_RATIO = 0.75  # each word of a misspelt statement this close to the statement's word ...
MISSPELT_LENGTH = 2  # ... and within this many letters of its length (a typo, not another word)
MIN_WORD_CHARS = 3
# common abbreviations and spellings clinicians type, mapped to a phrasing of a shipped statement
SYNONYMS = {
    "afib": "atrial fibrillation", "a fib": "atrial fibrillation", "af": "atrial fibrillation",
    "aflutter": "atrial flutter", "a flutter": "atrial flutter", "lbbb": "left bundle branch block",
    "rbbb": "right bundle branch block", "lvh": "left ventricular hypertrophy", "rvh": "right ventricular hypertrophy",
    "mi": "myocardial infarction", "stemi": "st elevation", "pvc": "premature ventricular contractions",
    "pvcs": "premature ventricular contractions", "pac": "premature atrial contractions",
    "pacs": "premature atrial contractions", "lafb": "left anterior fascicular block",
    "wpw": "wolff-parkinson-white pattern",
    "1st degree av block": "first degree av block", "first degree heart block": "first degree av block",
    "nsr": "sinus rhythm", "brady": "sinus bradycardia", "tachy": "sinus tachycardia",
    "normal": "normal ecg", "long qt": "prolonged qt interval",
    # the abbreviations of ECG reports, each one finding; ambiguous ones are left out ("st", "vt"; "ami" and "pmi",
    # anterior / posterior MI in PTB-XL but acute MI and the apex beat to most clinicians; "lad", also the artery)
    "afl": "atrial flutter", "sr": "sinus rhythm", "sb": "sinus bradycardia", "sinus brady": "sinus bradycardia",
    "sinus tach": "sinus tachycardia", "psvt": "paroxysmal supraventricular tachycardia",
    "irbbb": "incomplete right bundle branch block", "ilbbb": "incomplete left bundle branch block",
    "lpfb": "left anterior or posterior fascicular block", "ivcd": "non-specific intraventricular conduction disturbance",
    "avb": "atrioventricular block", "1avb": "first degree av block", "1st degree avb": "first degree av block",
    "first degree avb": "first degree av block", "chb": "complete av block", "complete heart block": "complete av block",
    "3rd degree av block": "complete av block", "third degree av block": "complete av block",
    "imi": "inferior myocardial infarction", "asmi": "anterior myocardial infarction",
    "lmi": "lateral myocardial infarction", "std": "st depression", "twi": "inverted t waves",
    "lqts": "prolonged qt interval", "long qtc": "prolonged qt interval", "qt prolongation": "prolonged qt interval",
    "rad": "right axis deviation", "lae": "left atrial enlargement", "rae": "right atrial enlargement",
    "low voltage": "low qrs voltages",
    "paced": "normal functioning artificial pacemaker", "paced rhythm": "normal functioning artificial pacemaker",
    "pacemaker": "normal functioning artificial pacemaker", "bigeminy": "bigeminal pattern",
    "trigeminy": "trigeminal pattern", "junctional": "junctional rhythm", "early repol": "early repolarization",
}
# simulator statements read as their PTB-XL equivalent, calibrated on real ECGs: typed as the simulator phrases
# them ("premature ventricular complexes", "right bundle branch block"), they were answered with the simulator's
# calibration, which on PTB-XL fold 9 gave the real records that carry them a mean probability of 0.01 (PVC),
# 0.02 (PAC), 0.21 (RBBB) and 0.16 (LBBB), against 0.79, 0.27, 0.54 and 0.73 from PTB-XL's own statements; and
# the simulator's atrial enlargement ranked them worse (AUROC 0.70 / 0.64 for left / right, PTB-XL's 0.76 / 0.80)
REAL_EQUIVALENTS = {"pvc": ("ptbxl-form", "PVC"), "pac": ("ptbxl-form", "PAC"), "rbbb": ("ptbxl-sub", "CRBBB"),
                    "lbbb": ("ptbxl-sub", "CLBBB"), "left_atrial_enlargement": ("ptbxl-sub", "LAO/LAE"),
                    "right_atrial_enlargement": ("ptbxl-sub", "RAO/RAE")}
# a prompt that starts with one of these and goes on to name a shipped statement denies it
NEGATIONS = ("no evidence of", "no signs of", "no sign of", "absence of", "negative for", "without", "not", "no")
# words of questions and prompts that carry no finding
STOP_WORDS = frozenset("a an the of in with and or is are this ecg ekg ecgs signs sign showing shows show".split())


@dataclass(frozen=True)
class PromptReading:
    """What a prompt is: ``kind`` "statement" (label_set, statement; ``negated`` when the prompt denies it),
    "free text", or "not about ECGs" (reason)."""

    prompt: str
    kind: str
    label_set: str | None = None
    statement: str | None = None
    reason: str = ""
    negated: bool = False


def _normal(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", (text or "").lower()))


@lru_cache(maxsize=1)
def _phrasings() -> dict[str, tuple[str, str]]:
    """normalised phrasing -> (label set, statement) over the calibrated sets (first set wins; a simulator
    statement with a PTB-XL equivalent is read as that, REAL_EQUIVALENTS)."""
    table: dict[str, tuple[str, str]] = {}
    for label_set in CALIBRATED_SETS:
        for statement, phrasings in prompt_set(label_set).items():
            for phrasing in phrasings:
                meant = (label_set, statement)
                if label_set == "synth":
                    meant = REAL_EQUIVALENTS.get(statement, meant)
                table.setdefault(_normal(phrasing), meant)
    return table


@lru_cache(maxsize=1)
def ecg_vocabulary() -> frozenset[str]:
    """Every word of the shipped prompt sets and the simulator's report phrasings (3+ letters)."""
    from melp.prompt_sets import available
    from melp.synth.reports import PHRASINGS

    texts = [phrasing for name in available() for phrasings in prompt_set(name).values() for phrasing in phrasings]
    texts += [phrasing for phrasings in PHRASINGS.values() for phrasing in phrasings]
    return frozenset(word for text in texts for word in _normal(text).split() if len(word) >= MIN_WORD_CHARS)


def match_statement(prompt: str) -> tuple[str, str] | None:
    """(label set, statement) of the shipped statement a prompt names, forgiving case, spelling and synonyms."""
    text = _normal(prompt)
    text = _normal(SYNONYMS.get(text, text))
    table = _phrasings()
    if text in table:
        return table[text]
    close = [phrasing for phrasing in difflib.get_close_matches(text, list(table), n=5, cutoff=MATCH_RATIO)
             if _misspelt(text, phrasing)]
    return table[close[0]] if close else None


def _misspelt(text: str, phrasing: str) -> bool:
    """True when ``text`` is ``phrasing`` with typos: the same words, each equal or a near-miss of about its
    length ("fibrilation", "brnach"), never another word ("supraventricular" for "ventricular": whole
    strings that close had named another finding)."""
    typed, meant = text.split(), phrasing.split()
    return len(typed) == len(meant) and all(
        a == b or (abs(len(a) - len(b)) <= MISSPELT_LENGTH
                   and difflib.SequenceMatcher(None, a, b).ratio() >= MISSPELT_WORD_RATIO)
        for a, b in zip(typed, meant))


def read_prompt(prompt: str) -> PromptReading:
    """Classify one typed prompt (see the module docstring)."""
    text = _normal(prompt)
    if not text or not re.search(r"[a-z]", text):
        return PromptReading(prompt, "not about ECGs", reason="no words left once symbols and emoji are removed")
    matched = match_statement(prompt)
    if matched is not None:
        return PromptReading(prompt, "statement", *matched)
    denied = next((text[len(cue) + 1:] for cue in NEGATIONS if text.startswith(cue + " ")), None)
    matched = match_statement(denied) if denied else None
    if matched is not None:
        return PromptReading(prompt, "statement", *matched, negated=True)
    vocabulary = ecg_vocabulary()
    words = [word for word in text.split() if word not in STOP_WORDS and len(word) >= MIN_WORD_CHARS]
    known = [word for word in words if word in vocabulary or difflib.get_close_matches(word, vocabulary, 1, WORD_RATIO)]
    if not known and text not in SYNONYMS:
        return PromptReading(prompt, "not about ECGs", reason="none of its words is an ECG term the model learned")
    return PromptReading(prompt, "free text")


def percentile(score: float, reference: np.ndarray) -> float:
    """Share (0-100) of reference ECGs whose score for the prompt is below this ECG's (NaN without any)."""
    reference = np.asarray(reference, dtype=np.float64)
    return float(100.0 * np.mean(reference < score)) if reference.size else float("nan")
