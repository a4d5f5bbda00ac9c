"""What was read and what preprocessing did, as markdown for the record panel."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from melp.record import EcgRecord
from ui.errors import plain

SEX_WORDS = {"M": "male", "F": "female"}


def _leads_line(record: EcgRecord) -> list[str]:
    mask = np.asarray(record.lead_mask, bool)
    found = [lead for lead, present in zip(record.leads, mask) if present]
    missing = [lead for lead, present in zip(record.leads, mask) if not present]
    lines = [f"- **Leads found:** {len(found)} of {len(record.leads)} ({', '.join(found) or 'none'})"]
    if missing:
        lines.append(f"- **Missing leads** (shown dotted, zero-filled for the model): {', '.join(missing)}")
    return lines


def record_markdown(
    record: EcgRecord,
    preprocessing_steps: tuple[str, ...] = (),
    reader_notes: tuple[str, ...] = (),
    heart_rate_bpm: float | None = None,
    n_beats: int | None = None,
) -> str:
    """Markdown: identity, fs, duration, leads, demographics, report and labels in the file, preprocessing."""
    source = Path(record.source).name if record.source else "in memory"
    lines = [f"### {plain(record.record_id or 'ECG')}", f"- **Source:** {plain(source)}",
             f"- **Sampling rate:** {record.fs:g} Hz, **duration:** {record.duration:.1f} s ({record.n_samples} samples)"]
    lines += _leads_line(record)
    demographics = []
    if record.age is not None:
        demographics.append(f"age {record.age:g}")
    if record.sex:
        demographics.append(SEX_WORDS.get(record.sex, record.sex))
    lines.append(f"- **Patient:** {', '.join(demographics) if demographics else 'age and sex not in file'}")
    if heart_rate_bpm is not None and np.isfinite(heart_rate_bpm):
        lines.append(f"- **Heart rate (lead II R peaks):** {heart_rate_bpm:.0f} bpm, {n_beats} beats detected")
    lines.append(f"- **Report in file:** {plain(record.report)}" if record.report else "- **Report in file:** none")
    if record.labels:
        lines.append(f"- **Labels in file:** {plain(', '.join(record.labels))}")
    if reader_notes:
        lines.append("- **Reader notes:** " + plain("; ".join(reader_notes)))
    steps = "; ".join(preprocessing_steps) if preprocessing_steps else "nothing needed"
    lines.append(f"- **Preprocessing for the model:** {steps}")
    return "\n".join(lines)
