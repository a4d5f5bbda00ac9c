"""Command line: ``python -m melp.synth --n 50000 --out DIR --seed 0 --fs 500 --workers 2``."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from melp.logs import configure_logging
from melp.synth.conditions import CONDITIONS
from melp.synth.corpus import DEFAULT_SHARD_SIZE, write_corpus


def _read_mix(path: str | None) -> dict[str, float] | None:
    """Label frequencies from a JSON file {condition: frequency}; unknown names are an error."""
    if path is None:
        return None
    mix = json.loads(Path(path).read_text(encoding="utf-8"))
    unknown = sorted(set(mix) - set(CONDITIONS))
    if unknown:
        raise SystemExit(f"{path}: unknown conditions {unknown}; expected names from {list(CONDITIONS)}")
    return {name: float(value) for name, value in mix.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m melp.synth", description="Write a synthetic ECG-report "
                                     "corpus in the MIMIC-IV-ECG layout (resumable, deterministic).")
    parser.add_argument("--n", type=int, required=True, help="number of records")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fs", type=float, default=500.0, help="sampling rate, Hz")
    parser.add_argument("--seconds", type=float, default=10.0, help="record length")
    parser.add_argument("--workers", type=int, default=1, help="processes")
    parser.add_argument("--mix", default=None, help="JSON file {condition: frequency} overriding the default mix")
    parser.add_argument("--shard-size", type=int, default=DEFAULT_SHARD_SIZE, help="records per resumable shard")
    args = parser.parse_args(argv)
    configure_logging()
    write_corpus(args.out, n=args.n, seed=args.seed, fs=args.fs, seconds=args.seconds, workers=args.workers,
                 mix=_read_mix(args.mix), shard_size=args.shard_size)


if __name__ == "__main__":
    main()
