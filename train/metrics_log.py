"""Append-only CSV of training and validation metrics (rank 0 only)."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from melp.atomic import write_text_atomic

COLUMNS = ("step", "epoch", "lr", "loss", "loss_rhythm", "loss_token", "loss_beat", "loss_grounding", "grad_norm",
           "samples_per_s", "val_auroc")


class MetricsLog:
    """``metrics.csv`` with fixed :data:`COLUMNS`; a missing value is an empty cell."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.path.exists():
            with self.path.open("w", newline="", encoding="utf-8") as handle:
                csv.writer(handle).writerow(COLUMNS)
            return
        with self.path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
            handle.seek(0)
            header = tuple(next(csv.reader(handle), ()))
        if header != COLUMNS:  # written by an older version: same values under the new columns
            buffer = io.StringIO()
            writer = csv.DictWriter(buffer, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\r\n")
            writer.writeheader()
            writer.writerows(rows)
            write_text_atomic(self.path, buffer.getvalue())

    def append(self, row: dict[str, float | int]) -> None:
        unknown = sorted(set(row) - set(COLUMNS))
        if unknown:
            raise KeyError(f"{self.path}: metrics {unknown} are not columns; expected some of {COLUMNS}")
        with self.path.open("a", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerow([_format(row.get(column)) for column in COLUMNS])

    def drop_after(self, step: int) -> None:
        """Forget rows past ``step`` (written by a run that died after its last checkpoint)."""
        with self.path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
        kept = [rows[0]] + [r for r in rows[1:] if r and int(r[0]) <= step]
        text = io.StringIO(newline="")
        csv.writer(text).writerows(kept)
        write_text_atomic(self.path, text.getvalue())

    def read(self) -> list[dict[str, str]]:
        with self.path.open(newline="", encoding="utf-8") as handle:
            return list(csv.DictReader(handle))


def _format(value: float | int | None) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


class ClassLog:
    """``validation-per-class.jsonl``: one line per validation, ``{"step": n, "auroc": {class: value}}``.

    The macro AUROC in metrics.csv says whether a run improves; this says which statements it has learned
    and when (a rare finding can sit at chance for thousands of steps, then rise).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def append(self, step: int, per_class: dict[str, float]) -> None:
        line = json.dumps({"step": int(step), "auroc": {name: round(float(v), 6) for name, v in per_class.items()}})
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")

    def drop_after(self, step: int) -> None:
        """Forget validations past ``step`` (rewritten atomically)."""
        if not self.path.exists():
            return
        kept = [row for row in self.read() if row["step"] <= step]
        write_text_atomic(self.path, "".join(json.dumps(row) + "\n" for row in kept))

    def read(self) -> list[dict]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text(encoding="utf-8").splitlines() if line.strip()]
