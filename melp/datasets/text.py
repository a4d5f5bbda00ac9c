"""Report text normalisation: the one function every report passes through (datasets and tokenizer).

Follows the MERL/MELP recipe for MIMIC-IV-ECG machine reports: lower case, "ekg" -> "ecg",
punctuation cleaned, whitespace collapsed. Sentence-ending periods are kept because the beat-level
loss splits reports into sentences.
"""
from __future__ import annotations

import math
import re
from collections.abc import Iterable

REPORT_SEPARATOR = ". "  # joins report_0..report_17 (paper)
MIN_REPORT_TOKENS = 4  # reports with fewer word tokens are dropped (paper)
SENTENCE_PUNCTUATION = (".", ";", "!", "?")  # a sentence ends at one of these (text tower and beat loss)

_EKG = re.compile(r"\bekg\b", flags=re.IGNORECASE)
_DISALLOWED = re.compile(r"[^A-Za-z0-9\s.,;:!?/%+\-()'<>=]")  # anything else becomes a space
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([.,;:])")
_REPEATED_STOPS = re.compile(r"(?:[.,;:]\s*)*\.(?:\s*[.,;:])*")  # ". , ." runs -> "."
_REPEATED_COMMAS = re.compile(r"(?:,\s*){2,}")
_WHITESPACE = re.compile(r"\s+")
_WORD = re.compile(r"[a-z0-9]+")
_EDGE_PUNCT = " ,;:-"
_SENTENCE_END = re.compile(r"(?<=[" + re.escape("".join(SENTENCE_PUNCTUATION)) + r"])\s+")


def normalise_report(text: str, lowercase: bool = True) -> str:
    """One report as the model sees it: ``"Sinus  rhythm.. EKG normal*"`` -> ``"sinus rhythm. ecg normal"``.

    ``lowercase=False`` keeps the case, for cased tokenizers (the model's ``TextConfig.lowercase``).
    """
    cleaned = _EKG.sub("ecg", (text or "").lower() if lowercase else (text or ""))
    cleaned = _DISALLOWED.sub(" ", cleaned)
    cleaned = _SPACE_BEFORE_PUNCT.sub(r"\1", cleaned)
    cleaned = _REPEATED_STOPS.sub(".", cleaned)
    cleaned = _REPEATED_COMMAS.sub(", ", cleaned)
    cleaned = _WHITESPACE.sub(" ", cleaned)
    cleaned = re.sub(r"\.(?=\S)(?![0-9])", ". ", cleaned)  # "rhythm.normal" -> "rhythm. normal", not "0.12"
    return cleaned.strip(_EDGE_PUNCT).lstrip(".").strip()


def join_report_lines(lines: Iterable[object]) -> str:
    """report_0..report_17 cells -> one normalised report; empty and NaN cells are skipped."""
    parts = []
    for line in lines:
        if line is None or (isinstance(line, float) and math.isnan(line)):
            continue
        text = str(line).strip()
        if text:
            parts.append(text)
    return normalise_report(REPORT_SEPARATOR.join(parts))


def count_report_tokens(report: str) -> int:
    """Word tokens (letters/digits runs) in a normalised report; the dropping rule counts these."""
    return len(_WORD.findall(report))


def split_sentences(report: str) -> list[str]:
    """A normalised report's sentences, each with its closing mark: ``"a. b; c"`` -> ``["a.", "b;", "c"]``.

    A mark ends a sentence when whitespace follows it, so decimals ("0.12") stay whole.
    """
    return [part for part in _SENTENCE_END.split(report.strip()) if part.strip(_EDGE_PUNCT + "".join(SENTENCE_PUNCTUATION))]
