"""Diagnosis codes (SNOMED CT, as in the PhysioNet/CinC 2020/2021 challenges) to readable names.

The table ``dx_codes.csv`` next to this module is the project's own, written for the codes that
occur in the challenge datasets (CPSC2018, Chapman-Shaoxing-Ningbo, Georgia, PTB, PTB-XL).
"""
from __future__ import annotations

import csv
import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

logger = logging.getLogger(__name__)

DX_TABLE_PATH = Path(__file__).with_name("dx_codes.csv")


@dataclass(frozen=True)
class DxEntry:
    """One diagnosis code with its readable name and the challenges' abbreviation."""

    code: str
    name: str
    abbreviation: str


@lru_cache(maxsize=1)
def dx_table() -> dict[str, DxEntry]:
    """code -> entry, read once from ``dx_codes.csv``."""
    with DX_TABLE_PATH.open(newline="", encoding="utf-8") as handle:
        rows = csv.DictReader(handle)
        return {row["snomed_code"]: DxEntry(row["snomed_code"], row["name"], row["abbreviation"]) for row in rows}


def lookup_dx(code: str) -> DxEntry | None:
    """The entry for one code (surrounding spaces ignored), or None when the table lacks it."""
    return dx_table().get(str(code).strip())


def dx_names(codes: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Readable names for codes, in order; a code the table lacks is kept as the code itself."""
    names = []
    for code in codes:
        entry = lookup_dx(code)
        if entry is None:
            logger.debug("diagnosis code %s is not in %s; keeping the code", code, DX_TABLE_PATH.name)
            names.append(str(code).strip())
        else:
            names.append(entry.name)
    return tuple(names)
