"""The manifest of a library: which model made it (fingerprint), what it holds, and with which versions."""
from __future__ import annotations

import json
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from melp.provenance import model_fingerprint  # noqa: F401  (the fingerprint libraries are matched by)

MANIFEST_FILE = "manifest.json"
FORMAT_VERSION = 1
def software_versions() -> dict[str, str]:
    import melp

    return {
        "melp": melp.__version__,
        "faiss": faiss.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }


@dataclass
class IndexEntry:
    """One FAISS index file of the library."""

    file: str
    kind: str  # faiss_index.KIND_FLAT or KIND_IVF
    count: int
    nprobe: int = 0  # IVF lists searched per query; 0 for exact search
    tuned_recall: float | None = None  # recall@10 vs exact at that nprobe, measured at build time


@dataclass
class ReferenceEntry:
    """The library's reference set (``index.reference``): ECG vectors only, for free-text percentiles."""

    file: str
    count: int
    source: str  # the --source spec the vectors were embedded from


@dataclass
class Manifest:
    model_fingerprint: str
    model_path: str | None  # the checkpoint the library was built with, as given (None: default)
    embed_dim: int
    n_records: int
    n_reports: int  # distinct report texts in the report index
    source: str  # the --source spec(s) the rows came from, ";"-joined after adds
    ecg_index: IndexEntry
    report_index: IndexEntry | None
    files: dict[str, int] = field(default_factory=dict)  # file name -> size in bytes, checked on open
    created: str = ""
    updated: str = ""
    versions: dict[str, str] = field(default_factory=software_versions)
    format_version: int = FORMAT_VERSION
    reference: ReferenceEntry | None = None  # absent: percentiles rank against the library's own ECGs

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, payload: dict[str, Any]) -> "Manifest":
        payload = dict(payload)
        payload["ecg_index"] = IndexEntry(**payload["ecg_index"])
        if payload.get("report_index") is not None:
            payload["report_index"] = IndexEntry(**payload["report_index"])
        if payload.get("reference") is not None:
            payload["reference"] = ReferenceEntry(**payload["reference"])
        return cls(**payload)

    @classmethod
    def read(cls, folder: Path) -> "Manifest":
        path = folder / MANIFEST_FILE
        if not path.exists():
            raise FileNotFoundError(
                f"{folder}: no {MANIFEST_FILE}; this is not a complete library. "
                f"Build one with: python -m index.build --source ... --out {folder}"
            )
        manifest = cls.from_dict(json.loads(path.read_text()))
        if manifest.format_version != FORMAT_VERSION:
            raise ValueError(
                f"{path}: library format {manifest.format_version}, expected {FORMAT_VERSION}; "
                f"rebuild it with python -m index.build --out {folder} --force"
            )
        return manifest

    def check_files(self, folder: Path) -> None:
        """Every listed file exists with its recorded size (a truncated copy never opens)."""
        for name, size in self.files.items():
            path = folder / name
            found = path.stat().st_size if path.exists() else None
            if found != size:
                raise ValueError(
                    f"{path}: expected {size} bytes, found {'no file' if found is None else f'{found} bytes'}; "
                    f"the library is incomplete; rebuild it with python -m index.build --out {folder} --force"
                )


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")
