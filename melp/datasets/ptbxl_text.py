"""English text for every PTB-XL record: its SCP statements written as a report, and which originals are English.

The text tower reads English and about 60 % of PTB-XL's reports are German (some Swedish), so a record's
training text is composed from its SCP statements, using the English descriptions of
``scp_statements.csv`` (a few repaired: typos, bracketed codes), in the order a report is read:
rhythm, conduction, hypertrophy, infarction, ST-T, other form statements, then the "normal ecg"
summary. A diagnostic statement coded with likelihood 15-35 reads "possible ...", 50-80 "probable ...".
Records known only through ``label_splits/`` get the same kind of text from their labels (rhythm and
form codes, diagnostic subclasses). Original reports are kept as alternative text only when they are
English (``is_english``); German or Swedish text is never fed as if it were English.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

import pandas as pd

# scp_statements.csv descriptions that read badly as report sentences; everything else is used as written
DESCRIPTION_FIXES = {
    "WPW": "wolff-parkinson-white pattern",
    "EL": "electrolyte disturbance or drug effect",
    "IVCD": "non-specific intraventricular conduction disturbance",
    "DIG": "digitalis effect",
    "LNGQT": "long qt interval",
    "ISC_": "non-specific ischemic changes",
    "PRC(S)": "premature complexes",
    "BIGU": "bigeminal pattern",
    "TRIGU": "trigeminal pattern",
    "PACE": "normal functioning artificial pacemaker",
    "VCLVH": "voltage criteria for left ventricular hypertrophy",
}
# diagnostic subclasses (label_splits' sub_class columns) as report phrases, for records without codes
SUBCLASS_TEXT = {
    "NORM": "normal ecg", "STTC": "st-t changes", "NST": "non-specific st changes",
    "ISC": "non-specific ischemic changes", "ISCA": "ischemic changes in anterior leads",
    "ISCI": "ischemic changes in inferior leads", "AMI": "anterior myocardial infarction",
    "IMI": "inferior myocardial infarction", "LMI": "lateral myocardial infarction",
    "PMI": "posterior myocardial infarction", "LVH": "left ventricular hypertrophy",
    "RVH": "right ventricular hypertrophy", "SEHYP": "septal hypertrophy",
    "LAO/LAE": "left atrial overload/enlargement", "RAO/RAE": "right atrial overload/enlargement",
    "CLBBB": "complete left bundle branch block", "CRBBB": "complete right bundle branch block",
    "ILBBB": "incomplete left bundle branch block", "IRBBB": "incomplete right bundle branch block",
    "IVCD": "non-specific intraventricular conduction disturbance",
    "LAFB/LPFB": "left anterior or posterior fascicular block", "WPW": "wolff-parkinson-white pattern",
    "AVB": "atrioventricular block",
}
# reading order of the sections of a report (diagnostic_class of scp_statements.csv, then the rest)
SECTION_ORDER = ("rhythm", "CD", "HYP", "MI", "STTC", "form", "NORM")
SUBCLASS_SECTION = {"NORM": "NORM", "STTC": "STTC", "NST": "STTC", "ISC": "STTC", "ISCA": "STTC", "ISCI": "STTC",
                    "AMI": "MI", "IMI": "MI", "LMI": "MI", "PMI": "MI", "LVH": "HYP", "RVH": "HYP", "SEHYP": "HYP",
                    "LAO/LAE": "HYP", "RAO/RAE": "HYP"}
POSSIBLE_BELOW = 50.0  # likelihood under this (15, 35) reads "possible"
PROBABLE_BELOW = 100.0  # likelihood 50-80 reads "probable"; 100 and 0 (not graded) read plainly

_LETTERS = re.compile(r"[a-zäöüåß\-]+")
_NON_ENGLISH_LETTERS = re.compile("[äöüåß]")
# words of the German and Swedish reports of PTB-XL (never in its English ones)
_FOREIGN_WORDS = frozenset(
    "sinusrhythmus sinusrytm lagetyp linkstyp rechtstyp steiltyp abnorm abnormes infarkt wahrscheinlich "
    "inferiorer ueberdrehter unbest alt alter vorhofflimmern oder myokardschaden ableitungen linksbelastung "
    "anteroseptaler extrasystole sinistrocardiale normales rechtsschenkelblock unspezifisches periphere "
    "niederspannung sinustachykardie sinusbradykardie auf verdacht nicht anterolaterale auszuschliessen "
    "arrhythmie linksschenkelblock amplitudenkriterien tachykardes sonst anteriorer linksanteriorer "
    "unspezifischer inferolaterale unspezifische und bei mit der die das ekg bericht".split())
_ENGLISH_WORDS = frozenset(
    "rhythm sinus the with are waves wave is this may be due to of and or no consistent otherwise possible "
    "probable likely changes leads deviation axis interval infarction ischemia ischaemia premature "
    "contraction contractions complexes fibrillation tachycardia bradycardia left right hypertrophy ecg "
    "abnormality block".split())
MIN_ENGLISH_WORDS = 2


def is_english(report: str) -> bool:
    """True for an English report: no German/Swedish letters or words, at least two English ECG words."""
    text = (report or "").lower()
    words = set(_LETTERS.findall(text))
    if _NON_ENGLISH_LETTERS.search(text) or words & _FOREIGN_WORDS:
        return False
    return len(words & _ENGLISH_WORDS) >= MIN_ENGLISH_WORDS


def statement_phrases(statements: pd.DataFrame) -> dict[str, tuple[str, str]]:
    """scp code -> (section, English phrase) from scp_statements.csv (indexed by code)."""
    phrases = {}
    for code, row in statements.iterrows():
        description = DESCRIPTION_FIXES.get(code, str(row.get("description", code)))
        phrase = re.sub(r"^ischemic in ", "ischemic changes in ", description.strip().lower())
        if row.get("rhythm") == 1:
            section = "rhythm"
        elif isinstance(row.get("diagnostic_class"), str):
            section = str(row["diagnostic_class"])
        else:
            section = "form"
        phrases[str(code)] = (section, phrase)
    return phrases


def _hedged(phrase: str, likelihood: float, section: str) -> str:
    if section in ("rhythm", "form", "NORM") or likelihood <= 0 or likelihood >= PROBABLE_BELOW:
        return phrase
    return f"{'possible' if likelihood < POSSIBLE_BELOW else 'probable'} {phrase}"


def _as_report(sentences_by_section: Mapping[str, list[str]]) -> str:
    ordered = [s for section in SECTION_ORDER for s in sentences_by_section.get(section, [])]
    unique = list(dict.fromkeys(ordered))
    return " ".join(f"{sentence}." for sentence in unique)


def compose_from_codes(codes: Mapping[str, float], phrases: Mapping[str, tuple[str, str]]) -> str:
    """``{"IMI": 35.0, "SR": 0.0}`` -> ``"sinus rhythm. possible inferior myocardial infarction."``."""
    sections: dict[str, list[str]] = {}
    for code, likelihood in codes.items():
        if code not in phrases:
            continue
        section, phrase = phrases[code]
        sections.setdefault(section, []).append(_hedged(phrase, float(likelihood or 0.0), section))
    return _as_report(sections)


def compose_from_labels(rhythm: Iterable[str], form: Iterable[str], subclasses: Iterable[str],
                        phrases: Mapping[str, tuple[str, str]]) -> str:
    """Text of a record known only by its label-split labels (rhythm/form codes, diagnostic subclasses)."""
    sections: dict[str, list[str]] = {}
    for code in rhythm:
        if code in phrases:
            sections.setdefault("rhythm", []).append(phrases[code][1])
    for name in subclasses:
        if name in SUBCLASS_TEXT:
            sections.setdefault(SUBCLASS_SECTION.get(name, "CD"), []).append(SUBCLASS_TEXT[name])
    for code in form:
        key = code if code in phrases else f"{code}_"  # label splits drop PTB-XL's trailing "_"
        if key in phrases:
            sections.setdefault("form", []).append(phrases[key][1])
    return _as_report(sections)
