"""PTB-XL fold 10 measured once with the paper's protocol, through the public API.

    python -m train.evaluate ptbxl --root PTBXL [--model PATH] [--probe-sets super] --out results/ptbxl-fold10.json

- zero-shot (text-prompted) macro AUROC per label set (super, sub, form, rhythm; the MERL/MELP label
  splits), with the shipped prompt sets (``melp/prompts/ptbxl-<set>.json``) and with plain names as a
  user types them (PTB-XL's own English descriptions; five names for the superclasses);
- linear probe at 1 %, 10 % and 100 % of folds 1-8, the probe chosen on fold 9 (``train.probe``);
- ECG -> text retrieval recall@1/5/10 over fold 10's texts, identical texts counting as hits: by plain
  cosine (the paper's) and hubness-corrected against folds 1-8's ECGs (``melp.hubness``);
- report generation against the statement text (``train.eval_reports``).
Folds 1-8 and 9 are read only for the probe's training and selection and as the hubness bank; every figure is
on fold 10.
"""
from __future__ import annotations

import logging
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from melp.datasets.ptbxl import LABEL_SETS, PtbxlReportsDataset
from melp.datasets.ptbxl_text import SUBCLASS_TEXT
from melp.hubness import BANK_NEIGHBOURS, corrected_similarity, text_hubness
from melp.metrics import macro_auroc, retrieval_recall
from train import probe
from train.eval_common import READ_CHUNK, as_the_app_reads
from train.eval_reports import StatementMatcher, infarction_claims, statement_f1, text_metrics
from train.prompts import validation_prompts

logger = logging.getLogger(__name__)

PROBE_FRACTIONS = (0.01, 0.1, 1.0)
SAMPLE_SEEDS = 5  # label samples per fraction below 100 % (the first is the headline's)
SUPERCLASS_NAMES = {"NORM": "normal ecg", "MI": "myocardial infarction", "STTC": "st-t changes",
                    "CD": "conduction disturbance", "HYP": "hypertrophy"}


def plain_names(dataset: PtbxlReportsDataset) -> dict[str, dict[str, str]]:
    """label set -> label -> the plain name a user would type: PTB-XL's English description of the code
    (scp_statements.csv; a code missing there falls back to the shipped prompt set's first phrasing)."""
    phrases = {code.strip("_"): phrase for code, (_, phrase) in dataset.phrases.items()}

    def described(label_set: str) -> dict[str, str]:
        shipped = validation_prompts(f"ptbxl-{label_set}", LABEL_SETS[label_set])
        return {label: phrases.get(label, shipped[label][0]) for label in LABEL_SETS[label_set]}

    return {"super": dict(SUPERCLASS_NAMES), "sub": {label: SUBCLASS_TEXT[label] for label in LABEL_SETS["sub"]},
            "form": described("form"), "rhythm": described("rhythm")}


def _set_columns(label_set: str, label_names: tuple[str, ...]) -> list[int]:
    return [label_names.index(f"{label_set}:{label}") for label in LABEL_SETS[label_set]]


def set_records(label_set: str, labels: np.ndarray, label_names: tuple[str, ...]) -> tuple[np.ndarray, list[int]]:
    """(rows (N,) bool: the records that carry a label of ``label_set``, its columns of ``labels`` (N, L) in
    LABEL_SETS order): what zero-shot scoring, calibration and prompt selection are measured over."""
    columns = _set_columns(label_set, label_names)
    return labels[:, columns].any(axis=1), columns


def encode_all(model: Any, dataset: PtbxlReportsDataset, generate: bool = False) -> dict[str, Any]:
    """Rhythm embeddings, probe features (and generated reports) of every record, read in chunks."""
    rhythm, features, reports = [], [], []
    for start in tqdm(range(0, len(dataset), READ_CHUNK), desc=f"encode ptbxl/{dataset.split}"):
        records = [dataset.read_record(i) for i in range(start, min(start + READ_CHUNK, len(dataset)))]
        embedded = model.embed(records)  # one pass of the ECG tower for both
        rhythm.append(embedded.rhythm)
        features.append(embedded.features)
        if generate:
            reports += model.generate_reports(records)
    return {"rhythm": np.concatenate(rhythm), "features": np.concatenate(features), "generated": reports}


def zero_shot_sets(model: Any, rhythm: np.ndarray, labels: np.ndarray, names: dict[str, dict[str, str]],
                   label_names: tuple[str, ...], n_resamples: int) -> dict[str, Any]:
    results = {}
    for label_set in LABEL_SETS:
        rows, columns = set_records(label_set, labels, label_names)
        set_labels = labels[rows][:, columns]
        shipped = validation_prompts(f"ptbxl-{label_set}", LABEL_SETS[label_set])
        entry = {"n_records": int(rows.sum())}
        for kind, prompts in (("shipped_prompts", [shipped[label] for label in LABEL_SETS[label_set]]),
                              ("plain_names", [names[label_set][label] for label in LABEL_SETS[label_set]])):
            scores = rhythm[rows] @ model.class_embeddings(prompts).T  # (N, K)
            entry[kind] = macro_auroc(set_labels, scores, LABEL_SETS[label_set], n_resamples=n_resamples).to_dict()
        entry["plain_names_used"] = names[label_set]
        entry["plain_names_in_the_app"] = {label: as_the_app_reads(name).read_as for label, name in names[label_set].items()}
        results[label_set] = entry
    return results


def probes(features: dict[str, np.ndarray], labels: dict[str, np.ndarray], label_names: tuple[str, ...],
           sets: tuple[str, ...], seed: int) -> dict[str, Any]:
    """The probe at each fraction with label sample ``seed`` (the paper's one sample, the headline); below
    100 % also over ``SAMPLE_SEEDS`` samples, their mean and spread (``sample_seeds``): at 1 % and 10 %
    which rare classes a sample happens to hold moves macro AUROC more than the features do."""
    results: dict[str, Any] = {}
    for label_set in sets:
        columns = _set_columns(label_set, label_names)
        rows = {split: labels[split][:, columns].any(axis=1) for split in labels}
        set_features = {split: features[split][rows[split]] for split in features}
        set_labels = {split: labels[split][rows[split]][:, columns] for split in labels}
        by_fraction = {}
        for fraction in PROBE_FRACTIONS:
            seeds = [seed + offset for offset in range(SAMPLE_SEEDS if fraction < 1.0 else 1)]
            entry, *others = [probe.probe_from_features(set_features, set_labels, LABEL_SETS[label_set], fraction,
                                                        sample_seed) for sample_seed in seeds]
            if others:
                values = np.array([entry["macro_auroc"], *(other["macro_auroc"] for other in others)])
                entry["sample_seeds"] = {"seeds": seeds, "macro_auroc": values.tolist(), "mean": float(values.mean()),
                                         "sd": float(values.std(ddof=1))}
            by_fraction[f"{fraction:g}"] = entry
        results[label_set] = by_fraction
    return results


def run_ptbxl(model: Any, root: str, probe_sets: tuple[str, ...], n_resamples: int, seed: int) -> dict[str, Any]:
    preprocess = model.preprocess_config
    test = PtbxlReportsDataset(root, "test", preprocess)
    encoded = {"test": encode_all(model, test, generate=True)}
    test_labels = test.label_matrix()
    results: dict[str, Any] = {"n_records": len(test)}
    results["zeroshot"] = zero_shot_sets(model, encoded["test"]["rhythm"], test_labels, plain_names(test),
                                         test.label_names, n_resamples)
    references = [test.report(i) for i in range(len(test))]
    text_embeds = np.concatenate([model.encode_text(references[s:s + READ_CHUNK]) for s in range(0, len(references), READ_CHUNK)])
    _, groups = np.unique(np.asarray(references), return_inverse=True)  # identical texts count as hits
    splits = {"train": PtbxlReportsDataset(root, "train", preprocess)}
    encoded["train"] = encode_all(model, splits["train"])  # the hubness bank (and the probes' training features)
    hubness = text_hubness(text_embeds, encoded["train"]["rhythm"])
    results["retrieval"] = {"n_distinct_texts": int(groups.max() + 1),
                            "ecg_to_text": retrieval_recall(encoded["test"]["rhythm"] @ text_embeds.T, groups=groups),
                            "ecg_to_text_hubness_corrected": retrieval_recall(
                                corrected_similarity(encoded["test"]["rhythm"], text_embeds, hubness), groups=groups),
                            "hubness_bank": f"folds 1-8, {len(splits['train'])} ECGs, {BANK_NEIGHBOURS} neighbour"}
    generated = encoded["test"]["generated"]
    matcher = StatementMatcher({code: phrase for code, (_, phrase) in test.phrases.items()})
    has_mi = test_labels[:, test.label_names.index("super:MI")] > 0
    results["reports"] = {**text_metrics(generated, references), **statement_f1(generated, references, matcher),
                          **infarction_claims(generated, has_mi),
                          "examples": [{"record_id": test.record_id(i), "reference": references[i], "generated": generated[i]}
                                       for i in range(0, len(test), max(1, len(test) // 10))][:10]}
    if probe_sets:
        splits["val"] = PtbxlReportsDataset(root, "val", preprocess)
        encoded["val"] = encode_all(model, splits["val"])
        features = {split: encoded[split]["features"] for split in ("train", "val", "test")}
        labels = {split: data.label_matrix() for split, data in splits.items()} | {"test": test_labels}
        results["probe"] = probes(features, labels, test.label_names, probe_sets, seed)
    results["headline"] = headline(results)
    return results


def headline(results: dict[str, Any]) -> dict[str, float]:
    lines = {}
    for label_set, entry in results["zeroshot"].items():
        lines[f"zero-shot {label_set} (shipped / plain)"] = (f"{entry['shipped_prompts']['macro_auroc']:.3f} / "
                                                             f"{entry['plain_names']['macro_auroc']:.3f}")
    read = [(f"ptbxl-{label_set}:{label}", as_read) for label_set, entry in results["zeroshot"].items()
            for label, as_read in entry["plain_names_in_the_app"].items()]
    lines["plain names the app reads as their own statement"] = f"{sum(a == b for a, b in read)} of {len(read)}"
    for label_set, by_fraction in results.get("probe", {}).items():
        lines[f"probe {label_set} 1/10/100 %"] = " / ".join(f"{v['macro_auroc']:.3f}" for v in by_fraction.values())
        lines[f"probe {label_set} 1/10 %, mean +- sd of {SAMPLE_SEEDS} label samples"] = " / ".join(
            f"{v['sample_seeds']['mean']:.3f} +- {v['sample_seeds']['sd']:.3f}" for v in by_fraction.values() if "sample_seeds" in v)
    recall = results["retrieval"]["ecg_to_text"]
    lines["ECG->text R@1/5/10"] = " / ".join(f"{value:.3f}" for value in recall.values())
    corrected = results["retrieval"]["ecg_to_text_hubness_corrected"]
    lines["ECG->text R@1/5/10, hubness corrected"] = " / ".join(f"{value:.3f}" for value in corrected.values())
    reports = results["reports"]
    for key in ("statement_f1_micro", "rouge_l", "bleu4", "meteor", "infarction_claimed_without_mi"):
        lines[key] = float(reports[key])
    return lines
