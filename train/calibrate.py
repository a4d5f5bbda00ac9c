"""Fit the calibration of a checkpoint's shipped statements, and measure it where it was not fitted.

    python -m train.calibrate --model checkpoints/melp-demo --ptbxl PTBXL --synth corpus/synth \
        [--heldout corpus/synth-heldout] [--out results/calibration.json] [--plot docs/reliability.png] \
        [--library index/default]

Fit (melp.calibration): PTB-XL fold 9 for the four PTB-XL label sets, the synthetic corpus's validation
split for the simulator's statements; saved as calibration.json beside the checkpoint. Measure: PTB-XL
fold 10 (and the held-out synthetic corpus), per label set: expected calibration error, Brier score,
macro AUROC of the raw cosines and of the calibrated probabilities (equal: Platt scaling is monotone),
and a reliability plot.
"""
from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import brier_score_loss

from melp.logs import configure_logging
import melp
from melp.atomic import write_text_atomic
from melp.calibration import Calibration, expected_calibration_error, fit_statement
from melp.datasets.mimic import MimicDataset
from melp.datasets.ptbxl import LABEL_SETS, PtbxlReportsDataset
from melp.findings import statement_embeddings
from melp.metrics import macro_auroc
from melp.prompt_reading import percentile
from train.eval_common import READ_CHUNK
from train.eval_ptbxl import set_records

logger = logging.getLogger(__name__)
# free text that is not a shipped statement, for the percentile stability measurement
STABILITY_PROMPTS = ("wide QRS complexes", "tall peaked T waves", "low voltage in the limb leads",
                     "ST elevation in the inferior leads", "irregularly irregular rhythm", "deep Q waves in V1 to V3",
                     "short PR interval", "poor R wave progression")


def _embed(model: Any, dataset: Any) -> np.ndarray:
    parts = [model.embed([dataset.read_record(i) for i in range(start, min(start + READ_CHUNK, len(dataset)))]).rhythm
             for start in range(0, len(dataset), READ_CHUNK)]
    return np.concatenate(parts) if parts else np.zeros((0, model.config.embed_dim), np.float32)


def ptbxl_sets(model: Any, root: str, split: str) -> tuple[dict[str, tuple[list[str], np.ndarray, np.ndarray]], np.ndarray]:
    """(label set -> (statements, cosines (N, K), labels (N, K)) over the split's records carrying that set,
    every record's ECG embedding (N, E))."""
    dataset = PtbxlReportsDataset(root, split, model.preprocess_config)
    rhythm, labels = _embed(model, dataset), dataset.label_matrix()
    sets = {}
    for label_set, names in LABEL_SETS.items():
        rows, columns = set_records(label_set, labels, dataset.label_names)
        statements, classes = statement_embeddings(model, f"ptbxl-{label_set}", list(names))
        sets[f"ptbxl-{label_set}"] = (statements, rhythm[rows] @ classes.T, labels[rows][:, columns])
    return sets, rhythm


def _synth_set(model: Any, root: str, split: str) -> dict[str, tuple[list[str], np.ndarray, np.ndarray]]:
    dataset = MimicDataset(root, split, model.preprocess_config, name="synth")
    statements, classes = statement_embeddings(model, "synth", list(dataset.label_names))
    return {"synth": (statements, _embed(model, dataset) @ classes.T, dataset.label_matrix())}


def fit(model: Any, sets: dict[str, tuple[list[str], np.ndarray, np.ndarray]], fitted_on: dict[str, str]) -> Calibration:
    fits = []
    for label_set, (statements, cosines, labels) in sets.items():
        for column, statement in enumerate(statements):
            fitted = fit_statement(label_set, statement, cosines[:, column], labels[:, column])
            if fitted is None:
                logger.warning("%s/%s: no positive or no negative record to fit; left uncalibrated", label_set, statement)
            else:
                fits.append(fitted)
    return Calibration(model.provenance.fingerprint, tuple(fits), fitted_on)


def measure(calibration: Calibration, sets: dict[str, tuple[list[str], np.ndarray, np.ndarray]]) -> dict[str, Any]:
    results = {}
    for label_set, (statements, cosines, labels) in sets.items():
        fits = calibration.for_set(label_set)
        kept = [k for k, statement in enumerate(statements) if statement in fits]
        probabilities = np.stack([fits[statements[k]].probability(cosines[:, k]) for k in kept], axis=1)
        truth = labels[:, kept]
        per_statement = {statements[k]: expected_calibration_error(probabilities[:, column], truth[:, column])
                         for column, k in enumerate(kept)}
        results[label_set] = {
            "n_records": int(len(labels)), "n_statements": len(kept),
            "ece": expected_calibration_error(probabilities, truth),
            "ece_per_statement_mean": float(np.mean(list(per_statement.values()))),
            "ece_per_statement_max": float(np.max(list(per_statement.values()))),
            "ece_per_statement": per_statement,
            "brier": float(brier_score_loss(truth.ravel(), probabilities.ravel())),
            "macro_auroc_raw": macro_auroc(truth, cosines[:, kept]).macro,
            "macro_auroc_calibrated": macro_auroc(truth, probabilities).macro,
            "reliability": _reliability(probabilities, truth),
        }
    return results


def percentile_stability(model: Any, reference: np.ndarray, rhythm: np.ndarray, prompts: tuple[str, ...] = STABILITY_PROMPTS,
                         seed: int = 0) -> dict[str, Any]:
    """How far a record's reference percentile for a free-text prompt moves between two random halves of the
    library's ECG vectors (N, E): |percentile in half A - percentile in half B| over records x prompts."""
    order = np.random.default_rng(seed).permutation(len(reference))
    half_a, half_b = reference[order[: len(order) // 2]], reference[order[len(order) // 2:]]
    moves = []
    for text in model.class_embeddings(list(prompts)):
        scores_a, scores_b = half_a @ text, half_b @ text
        moves += [abs(percentile(score, scores_a) - percentile(score, scores_b)) for score in rhythm @ text]
    moves = np.asarray(moves)
    return {"n_library": int(len(reference)), "n_records": int(len(rhythm)), "prompts": list(prompts),
            "mean_points": float(moves.mean()), "median_points": float(np.median(moves)),
            "p95_points": float(np.percentile(moves, 95)), "max_points": float(moves.max()),
            "share_under_2_points": float(np.mean(moves < 2.0))}


def _reliability(probabilities: np.ndarray, labels: np.ndarray, bins: int = 10) -> dict[str, list[float]]:
    edges = np.linspace(0, 1, bins + 1)
    which = np.minimum((probabilities.ravel() * bins).astype(int), bins - 1)
    flat = labels.ravel()
    mean_p, rate, count = [], [], []
    for index in range(bins):
        inside = which == index
        count.append(int(inside.sum()))
        mean_p.append(float(probabilities.ravel()[inside].mean()) if inside.any() else float("nan"))
        rate.append(float(flat[inside].mean()) if inside.any() else float("nan"))
    return {"bin_edges": edges.tolist(), "mean_probability": mean_p, "observed_rate": rate, "count": count}


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(results), figsize=(3.2 * len(results), 3.2), sharey=True)
    for axis, (label_set, entry) in zip(np.atleast_1d(axes), results.items()):
        curve = entry["reliability"]
        axis.plot([0, 1], [0, 1], color="#999", linewidth=0.8)
        axis.plot(curve["mean_probability"], curve["observed_rate"], marker="o", markersize=3)
        axis.set_title(f"{label_set}\nECE {entry['ece']:.3f}", fontsize=9)
        axis.set_xlabel("calibrated probability", fontsize=8)
    np.atleast_1d(axes)[0].set_ylabel("observed frequency", fontsize=8)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m train.calibrate", description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=None, help="checkpoint folder (default: the embedded one)")
    parser.add_argument("--ptbxl", required=True, help="PTB-XL folder (fits on fold 9, measures on fold 10)")
    parser.add_argument("--synth", default=None, help="synthetic corpus (fits on its validation split)")
    parser.add_argument("--heldout", default=None, help="held-out synthetic corpus to measure the synth fit on")
    parser.add_argument("--out", default=None, help="JSON with the fold-10 measurements")
    parser.add_argument("--plot", default=None, help="reliability plot (PNG)")
    parser.add_argument("--library", default=None, help="library folder: measure how free-text percentiles move "
                        "between two random halves of it, on fold-10 records")
    args = parser.parse_args(argv)
    configure_logging()
    model = melp.load(args.model)
    folder = Path(model.name_or_path)
    fitting, _ = ptbxl_sets(model, args.ptbxl, "val")
    fitted_on = {name: "PTB-XL fold 9" for name in fitting}
    if args.synth:
        fitting |= _synth_set(model, args.synth, "val")
        fitted_on["synth"] = "validation split of the synthetic training corpus (never trained on)"
    calibration = fit(model, fitting, fitted_on)
    logger.info("saved %s (%d statements)", calibration.save(folder), len(calibration.statements))
    testing, test_rhythm = ptbxl_sets(model, args.ptbxl, "test")
    if args.heldout:
        testing |= _synth_set(model, args.heldout, "all")
    results = {"model": model.provenance.to_dict(), "measured_on": "PTB-XL fold 10" + (" and the held-out synthetic "
               "corpus" if args.heldout else ""), "label_sets": measure(calibration, testing)}
    for label_set, entry in results["label_sets"].items():
        logger.info("%-14s ECE %.4f (per statement mean %.4f, max %.4f)  Brier %.4f  AUROC raw %.4f calibrated %.4f",
                    label_set, entry["ece"], entry["ece_per_statement_mean"], entry["ece_per_statement_max"],
                    entry["brier"], entry["macro_auroc_raw"], entry["macro_auroc_calibrated"])
    if args.library:
        from index.library import Library

        reference = Library.open(args.library, model=model).reference_vectors()
        results["percentile_stability"] = percentile_stability(model, reference, test_rhythm)
        logger.info("percentile moves between library halves: %s", {k: v for k, v in
                    results["percentile_stability"].items() if k.endswith("points") or k.startswith("share")})
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(Path(args.out), json.dumps(results, indent=1) + "\n")
    if args.plot:
        plot(results["label_sets"], Path(args.plot))
    return results


if __name__ == "__main__":
    main()
