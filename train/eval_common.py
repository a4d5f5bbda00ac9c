"""What every evaluation shares: reading and encoding a split through the public API, and the result table.

``train.evaluate`` (the CLI) and ``train.probe`` both import from here, so neither imports the other.
"""
from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from tqdm.auto import tqdm

from melp.prompt_reading import read_prompt
from melp.prompt_sets import prompt_set

READ_CHUNK = 256  # records read and encoded at a time, so a split never sits in memory at once


def require_source(dataset: Any) -> None:
    if not hasattr(dataset, "read_record"):
        raise ValueError(f"{getattr(dataset, 'store_dir', dataset)}: evaluation reads raw records through the "
                         "public API; pass --root of the source dataset, not of an array store")


def encode_split(model: Any, dataset: Any, indices: np.ndarray, method: str) -> np.ndarray:
    """(N, D) ``model.<method>`` (encode_ecg or features) over ``indices``, read and encoded in chunks."""
    require_source(dataset)
    encode = getattr(model, method)
    parts = []
    for start in tqdm(range(0, len(indices), READ_CHUNK), desc=f"{method} {dataset.name}/{dataset.split}"):
        records = [dataset.read_record(int(i)) for i in indices[start:start + READ_CHUNK]]
        parts.append(encode(records))
    return np.concatenate(parts) if parts else np.zeros((0, 0), np.float32)


class AppReading(NamedTuple):
    """How the app reads a typed prompt (melp.prompt_reading), for scoring it as the app does."""

    read_as: str  # "ptbxl-super:MI" for a shipped statement ("not ..." when denied), else the kind of reading
    phrasings: list[str]  # what its score ranks records by: the statement's shipped phrasings, else the prompt
    sign: float  # -1 where the prompt denies the statement (the app answers one minus its probability)


def as_the_app_reads(prompt: str) -> AppReading:
    """The app answers a shipped statement with its calibrated probability, which keeps the order of its
    phrasings' cosine; anything else the model scores by the prompt's own words."""
    reading = read_prompt(prompt)
    if reading.kind == "statement":
        label = f"{reading.label_set}:{reading.statement}"
        phrasings = prompt_set(reading.label_set)[reading.statement]
        return AppReading(f"not {label}", phrasings, -1.0) if reading.negated else AppReading(label, phrasings, 1.0)
    return AppReading(reading.kind, [prompt], 1.0)


def format_table(task: str, results: dict[str, Any]) -> str:
    """A plain-text table of the headline numbers (and per-class AUROC for classification tasks)."""
    lines = [f"{task}: {results['dataset']} / {results['split']} ({results.get('n_records', '?')} records)"]
    if "macro_auroc" in results:
        ci = results.get("macro_auroc_ci")
        ci_text = f"  [{ci[0]:.4f}, {ci[1]:.4f}]" if ci else ""
        lines.append(f"{'macro AUROC':<24}{results['macro_auroc']:.4f}{ci_text}")
        for name, value in results["per_class_auroc"].items():
            lines.append(f"  {name:<22}{value:.4f}   n+={results['positives'][name]}")
        if results["skipped_classes"]:
            lines.append(f"skipped (no positive or no negative): {', '.join(results['skipped_classes'])}")
    if "as_the_app_reads" in results:
        in_app = results["as_the_app_reads"]["macro_auroc"]
        lines.append(f"macro AUROC, the names as the app reads them {in_app:.4f}")
    for direction in ("ecg_to_report", "report_to_ecg"):
        if direction in results:
            lines.append(f"{direction:<24}" + "  ".join(f"{k} {v:.4f}" for k, v in results[direction].items()))
    for key, value in results.get("headline", {}).items():
        lines.append(f"{key:<40}{value:.4f}" if isinstance(value, float) else f"{key:<40}{value}")
    return "\n".join(lines)
