"""Generated reports scored against reference texts.

Text metrics come from maintained packages: corpus BLEU-4 (nltk, smoothing method 1), METEOR (nltk)
and ROUGE-L F (Google's rouge-score). METEOR runs with exact and Porter-stem matching only: its WordNet
synonym stage needs a corpus download, and nothing here downloads at run time. Clinical content is
scored by statements: the statements a text states (``StatementMatcher``, longest phrase first) in the
generated and the reference report give a micro F1 over (record, statement) pairs and a macro F1 over
statements; and the share of reports claiming infarction among records whose labels have none.
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np

from melp.datasets.text import normalise_report

INFARCTION = re.compile(r"\binfarct")  # "infarct", "infarction": a report claims an infarct
_WORDS = re.compile(r"[a-z0-9]+")


class _NoSynonyms:
    """Stands in for nltk's WordNet reader (a downloaded corpus): no synonym has a synset."""

    def synsets(self, *args: object, **kwargs: object) -> list:
        return []


class StatementMatcher:
    """Finds which statements a report states, by their phrases (e.g. PTB-XL's English descriptions).

    Longer phrases are matched first and consume their words, so "incomplete right bundle branch block"
    does not also count as "right bundle branch block".
    """

    def __init__(self, phrases: Mapping[str, str]) -> None:
        by_phrase: dict[str, str] = {}
        for code, phrase in phrases.items():
            key = " ".join(_WORDS.findall(phrase.lower()))
            if key:
                by_phrase.setdefault(key, code)
        self._patterns = [(re.compile(rf"\b{re.escape(key)}\b"), code)
                          for key, code in sorted(by_phrase.items(), key=lambda item: -len(item[0]))]

    def find(self, text: str) -> set[str]:
        remaining = " ".join(_WORDS.findall(normalise_report(text)))
        found = set()
        for pattern, code in self._patterns:
            if pattern.search(remaining):
                found.add(code)
                remaining = pattern.sub(" | ", remaining)
        return found


def _tokens(text: str) -> list[str]:
    return _WORDS.findall(normalise_report(text))


def text_metrics(generated: Sequence[str], references: Sequence[str]) -> dict[str, float]:
    """Corpus BLEU-4, mean METEOR and mean ROUGE-L F of generated reports against one reference each."""
    from nltk.translate.bleu_score import SmoothingFunction, corpus_bleu
    from nltk.translate.meteor_score import meteor_score
    from rouge_score import rouge_scorer

    hypotheses = [_tokens(text) for text in generated]
    refs = [_tokens(text) for text in references]
    bleu = corpus_bleu([[ref] for ref in refs], hypotheses, smoothing_function=SmoothingFunction().method1)
    no_synonyms = _NoSynonyms()
    meteor = np.mean([meteor_score([ref], hyp, wordnet=no_synonyms) for ref, hyp in zip(refs, hypotheses)])
    scorer = rouge_scorer.RougeScorer(["rougeL"])
    rouge = np.mean([scorer.score(" ".join(ref), " ".join(hyp))["rougeL"].fmeasure for ref, hyp in zip(refs, hypotheses)])
    return {"bleu4": float(bleu), "meteor": float(meteor), "rouge_l": float(rouge)}


def statement_f1(generated: Sequence[str], references: Sequence[str], matcher: StatementMatcher) -> dict[str, float]:
    """Micro F1 over (record, statement) pairs and macro F1 over statements present in the references."""
    predicted = [matcher.find(text) for text in generated]
    truth = [matcher.find(text) for text in references]
    hits = sum(len(p & t) for p, t in zip(predicted, truth))
    n_predicted, n_true = sum(map(len, predicted)), sum(map(len, truth))
    micro = 2 * hits / (n_predicted + n_true) if n_predicted + n_true else 0.0
    per_statement = []
    for code in sorted(set().union(*truth)) if truth else []:
        tp = sum(code in p and code in t for p, t in zip(predicted, truth))
        fp = sum(code in p and code not in t for p, t in zip(predicted, truth))
        fn = sum(code not in p and code in t for p, t in zip(predicted, truth))
        per_statement.append(2 * tp / (2 * tp + fp + fn))
    return {"statement_f1_micro": float(micro), "statement_f1_macro": float(np.mean(per_statement)) if per_statement else 0.0}


def infarction_claims(generated: Sequence[str], has_infarction: np.ndarray) -> dict[str, float | int]:
    """Share of reports claiming infarction among records labelled without it (and with it, for contrast)."""
    claims = np.array([bool(INFARCTION.search(normalise_report(text))) for text in generated])
    without = ~np.asarray(has_infarction, bool)
    return {"infarction_claimed_without_mi": float(claims[without].mean()) if without.any() else float("nan"),
            "infarction_claimed_with_mi": float(claims[~without].mean()) if (~without).any() else float("nan"),
            "n_without_mi": int(without.sum())}
