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


NOT_MEASURABLE = "not measurable"
_ROWS = (  # label, Measurements field, unit, methods key
    ("Ventricular rate", "heart_rate", "bpm", "heart_rate"), ("Atrial rate", "atrial_rate", "bpm", "atrial_rate"),
    ("RR", "rr_ms", "ms", "heart_rate"), ("PR", "pr_ms", "ms", "pr_ms"), ("QRS", "qrs_ms", "ms", "qrs_ms"),
    ("QT", "qt_ms", "ms", "qt_ms"), ("QTc (Bazett)", "qtc_bazett_ms", "ms", "qtc"),
    ("QTc (Fridericia)", "qtc_fridericia_ms", "ms", "qtc"), ("P axis", "p_axis", "deg", "p_axis"),
    ("QRS axis", "qrs_axis", "deg", "qrs_axis"), ("T axis", "t_axis", "deg", "t_axis"),
)


def measurement_rows(measurements: object) -> list[list[str]]:
    """[quantity, value, how it was measured] for each measurement ("not measurable" instead of a guess)."""
    rows = []
    for label, field, unit, method in _ROWS:
        value = getattr(measurements, field)
        if field == "atrial_rate" and value is None:
            continue  # shown only when it differs from the ventricular rate
        how = measurements.methods.get(method, measurements.methods.get("intervals", ""))
        shown = f"{value:.0f} {unit}" if value is not None else NOT_MEASURABLE
        if field == "pr_ms" and value is not None and measurements.pr_range_ms is not None:  # Wenckebach block
            shown += f" (varies {measurements.pr_range_ms[0]:.0f}-{measurements.pr_range_ms[1]:.0f})"
        rows.append([label, shown, how])
    return rows


def measurements_markdown(measurements: object | None, window_label: str) -> str:
    """The measurement table of the analysed window, naming the lead the R peaks were taken from."""
    if measurements is None:
        return ""
    rows = measurement_rows(measurements)
    lines = [f"**Measurements** ({window_label}; {measurements.n_beats} beats, R peaks of lead "
             f"{measurements.lead or 'none'} agreed by several leads)", "", "| | value |", "|---|---|"]
    lines += [f"| {label} | {value} |" for label, value, _ in rows]
    # how each was found, below the table (in a third column it squeezed the values into one character per
    # line in the app's side column); values found the same way (RR and rate) share a line
    methods: dict[str, list[str]] = {}
    for label, _, how in rows:
        methods.setdefault(how, []).append(label)
    lines += ["", "<details><summary>How each value was found</summary>", ""]
    lines += [f"- **{', '.join(labels)}:** {plain(how)}" for how, labels in methods.items()]
    lines += ["", "</details>"]
    return "\n".join(lines)


def record_markdown(
    record: EcgRecord,
    preprocessing_steps: tuple[str, ...] = (),
    reader_notes: tuple[str, ...] = (),
    measurements: object | None = None,
    window_label: str = "",
) -> str:
    """Markdown: identity, fs, duration, leads, demographics, report and labels in the file, measurements of
    the window analysed, preprocessing."""
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
    if window_label:
        lines.append(f"- **Window analysed:** {window_label}")
    lines.append(f"- **Report in file:** {plain(record.report)}" if record.report else "- **Report in file:** none")
    if record.labels:
        lines.append(f"- **Labels in file:** {plain(', '.join(record.labels))}")
    if reader_notes:
        lines.append("- **Reader notes:** " + plain("; ".join(reader_notes)))
    steps = "; ".join(preprocessing_steps) if preprocessing_steps else "nothing needed"
    lines.append(f"- **Preprocessing for the model:** {steps}")
    table = measurements_markdown(measurements, window_label)
    return "\n".join(lines) + (f"\n\n{table}" if table else "")
