"""Choose the shipped PTB-XL prompt phrasings on fold 9: for each statement, the written phrasings, its plain
name, or both, whichever ranks fold 9's records best.

    python -m train.select_prompts --model checkpoints/melp-demo --ptbxl PTBXL \
        [--candidates train/prompt_candidates] [--out melp/prompts] \
        [--report checkpoints/melp-demo/results/prompt-selection.json]

Candidates per statement: the phrasings written for it (``train/prompt_candidates/ptbxl-<set>.json``), the
plain name a user would type (``train.eval_ptbxl.plain_names``: PTB-XL's English description), and the two
together (a class embedding is the mean of its phrasings' embeddings). The one with the highest AUROC on
PTB-XL fold 9 (validation; never fold 10) over the records that carry a label of its set is written to
``melp/prompts/ptbxl-<set>.json``; a statement without both classes on fold 9 keeps its written phrasings.
Why this rule: selecting on one half of fold 9 and measuring on the other (20 random halvings), it gave
the best held-out macro AUROC averaged over the four label sets, against one choice per label set and
against choosing among every single written phrasing as well (docs/training.md, "Prompts"). The prompts
change what the model's cosines mean, so recalibrate afterwards (``python -m train.calibrate``).
"""
from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score

import melp
from melp.atomic import write_text_atomic
from melp.datasets.ptbxl import LABEL_SETS, PtbxlReportsDataset
from melp.datasets.text import normalise_report
from melp.logs import configure_logging
from train.eval_ptbxl import encode_all, plain_names, set_records

logger = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parents[1]
CANDIDATES = ROOT / "train" / "prompt_candidates"
KINDS = ("written", "plain", "both")


def candidates(written: list[str], plain: str) -> dict[str, list[str]]:
    """The phrasings each kind of candidate gives a statement (``both`` without repeating the plain name)."""
    return {"written": list(written), "plain": [plain],
            "both": list(written) + ([plain] if plain not in written else [])}


def choose(model: Any, rhythm: np.ndarray, labels: np.ndarray, written: dict[str, list[str]],
           plain: dict[str, str]) -> dict[str, dict[str, Any]]:
    """statement -> {"kind", "phrasings", "auroc" (kind -> fold-9 AUROC), "positives"} for one label set;
    ``rhythm`` (N, E) ECG embeddings and ``labels`` (N, K) of the records carrying a label of the set, columns
    in the order of ``written``."""
    chosen = {}
    for column, (statement, phrasings) in enumerate(written.items()):
        truth = labels[:, column]
        options = candidates(phrasings, plain[statement])
        if not 0 < truth.sum() < len(truth):
            chosen[statement] = {"kind": "written", "phrasings": options["written"], "auroc": {},
                                 "positives": int(truth.sum())}
            continue
        scores = {kind: float(roc_auc_score(truth, rhythm @ model.class_embeddings([texts])[0]))
                  for kind, texts in options.items()}
        kind = max(KINDS, key=lambda name: scores[name])  # ties keep the earlier kind: written first
        chosen[statement] = {"kind": kind, "phrasings": options[kind], "auroc": scores, "positives": int(truth.sum())}
    return chosen


def select(model: Any, root: str, candidate_dir: Path) -> dict[str, dict[str, dict[str, Any]]]:
    """label set -> statement -> choice (see ``choose``), from fold 9."""
    validation = PtbxlReportsDataset(root, "val", model.preprocess_config)
    rhythm, labels = encode_all(model, validation)["rhythm"], validation.label_matrix()
    names = {label_set: {statement: normalise_report(name) for statement, name in named.items()}
             for label_set, named in plain_names(validation).items()}  # written as reports look
    selection = {}
    for label_set, statements in LABEL_SETS.items():
        written = json.loads((candidate_dir / f"ptbxl-{label_set}.json").read_text(encoding="utf-8"))
        written = {statement: ([written[statement]] if isinstance(written[statement], str) else written[statement])
                   for statement in statements}
        rows, columns = set_records(label_set, labels, validation.label_names)
        selection[label_set] = choose(model, rhythm[rows], labels[rows][:, columns], written, names[label_set])
        kinds = [entry["kind"] for entry in selection[label_set].values()]
        logger.info("ptbxl-%s: %s", label_set, {kind: kinds.count(kind) for kind in KINDS})
    return selection


def write_prompt_sets(selection: dict[str, dict[str, dict[str, Any]]], out_dir: Path) -> list[Path]:
    written = []
    out_dir.mkdir(parents=True, exist_ok=True)
    for label_set, chosen in selection.items():
        path = out_dir / f"ptbxl-{label_set}.json"
        payload = {statement: entry["phrasings"] for statement, entry in chosen.items()}
        write_text_atomic(path, json.dumps(payload, indent=1, ensure_ascii=False) + "\n")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=str(ROOT / "checkpoints" / "melp-demo"))
    parser.add_argument("--ptbxl", required=True, help="the laid-out PTB-XL folder (docs/real-data.md)")
    parser.add_argument("--candidates", default=str(CANDIDATES))
    parser.add_argument("--out", default=str(ROOT / "melp" / "prompts"))
    parser.add_argument("--report", default=None, help="JSON of every statement's fold-9 AUROC per candidate")
    args = parser.parse_args(argv)
    configure_logging()
    model = melp.load(args.model, precision="fp32")
    selection = select(model, args.ptbxl, Path(args.candidates))
    for path in write_prompt_sets(selection, Path(args.out)):
        logger.info("wrote %s", path)
    report = {"model": Path(args.model).name, "fold": 9, "sets": selection}
    if args.report:
        write_text_atomic(Path(args.report), json.dumps(report, indent=1) + "\n")
        logger.info("wrote %s", args.report)
    return report


if __name__ == "__main__":
    main()
