"""Command line: ``python -m melp embed|zeroshot|report|explain FILES... [--model PATH] [--out results.csv|json]``.

Each file is read with ``melp.read_ecg``; a file that cannot be read is logged and reported in its
own row (``error`` column) without stopping the others. Results go to ``--out`` (.csv or .json) or,
without it, as JSON to standard output. Exit status: 0 when every file worked, 1 when some failed,
2 for a usage error.
"""
from __future__ import annotations

import argparse
import csv
import json
import logging
import sys
from pathlib import Path

import numpy as np

from melp.logs import configure_logging

logger = logging.getLogger("melp.cli")

EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE = 0, 1, 2
OUTPUT_SUFFIXES = (".csv", ".json")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m melp", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("files", nargs="+", help="ECG files: WFDB base name or .hea, .mat, .csv, .npy, .npz")
    common.add_argument("--model", help="save_pretrained folder (default: the embedded checkpoint)")
    common.add_argument("--out", type=Path, help="results file, .csv or .json (default: JSON on stdout)")
    common.add_argument("--device", default=None, help="torch device, e.g. cpu or cuda (default cpu)")
    common.add_argument("--batch-size", type=int, default=32)
    common.add_argument("--fs", type=float, default=None, help="sampling rate (Hz) for .npy/.npz/.csv without one")
    common.add_argument("--units", default=None, help="amplitude unit of .npy/.npz/.csv files: mV (default) or uV")
    common.add_argument("-v", "--verbose", action="store_true", help="log progress (INFO)")
    embed = commands.add_parser("embed", parents=[common], help="L2-normalised ECG embeddings")
    embed.add_argument("--window", choices=("first", "all"), default="first")
    zeroshot = commands.add_parser("zeroshot", parents=[common], help="cosine score of each ECG with each prompt")
    zeroshot.add_argument("--prompts", nargs="+", default=[], help="class prompts (plain strings)")
    zeroshot.add_argument("--prompts-file", type=Path,
                          help="JSON list of prompts; an item may be a list of phrasings averaged into one class")
    zeroshot.add_argument("--probabilities", action="store_true", help="softmax over the prompts instead of cosines")
    zeroshot.add_argument("--window", choices=("first", "all", "best"), default="first")
    report = commands.add_parser("report", parents=[common], help="generated report text")
    report.add_argument("--num-beams", type=int, default=1)
    report.add_argument("--max-new-tokens", type=int, default=None)
    explain = commands.add_parser("explain", parents=[common], help="attention maps and sentence x beat similarity (JSON)")
    explain.add_argument("--text", default=None, help="report to explain (default: the generated one)")
    return parser


def _read_all(files: list[str], fs: float | None, units: str | None) -> tuple[list[tuple[int, str, object]], dict[int, dict]]:
    """(position, file, record) for readable files, and an error row (by position) for each unreadable one."""
    from melp import EcgReadError, read_ecg

    readable, failed = [], {}
    for position, name in enumerate(files):
        try:
            readable.append((position, name, read_ecg(name, fs=fs, units=units)))
        except (EcgReadError, OSError) as error:
            logger.error("%s: skipped: %s", name, error)
            failed[position] = {"file": name, "error": str(error)}
    return readable, failed


def _prompts(args: argparse.Namespace) -> list:
    prompts = list(args.prompts)
    if args.prompts_file:
        try:
            loaded = json.loads(args.prompts_file.read_text())
        except (OSError, json.JSONDecodeError) as error:
            raise SystemExit(f"{args.prompts_file}: cannot read prompts ({error}); expected a JSON list of "
                             "strings or lists of strings")
        prompts += loaded
    if not prompts:
        raise SystemExit("zeroshot: no prompts; pass --prompts TEXT ... or --prompts-file prompts.json")
    return prompts


def _warn_denied(prompts: list) -> None:
    """A warning for each prompt that denies a shipped statement ("no atrial fibrillation")."""
    from melp.prompt_reading import read_prompt

    for prompt in prompts:
        if isinstance(prompt, str) and read_prompt(prompt).negated:
            logger.warning("%r denies a finding, but zero-shot scores do not read 'no' or 'not': they rank ECGs as "
                           "for the finding itself. Score the finding and read a low score as its absence (the app "
                           "answers a denied statement with one minus its calibrated probability)", prompt)


def _rows(args: argparse.Namespace, model, readable: list[tuple[int, str, object]]) -> list[dict]:
    """One result row per readable file, in the same order."""
    records = [record for _, _, record in readable]
    provenance = model.provenance  # every row says which model made it
    base = [{"file": name, "record_id": record.record_id, "model": provenance.name_or_path,
             "model_fingerprint": provenance.fingerprint} for _, name, record in readable]
    if args.command == "embed":
        embeddings = model.encode_ecg(records, batch_size=args.batch_size, window=args.window)
        return [{**row, **{f"e{i}": float(v) for i, v in enumerate(vector)}} for row, vector in zip(base, embeddings)]
    if args.command == "zeroshot":
        prompts = _prompts(args)
        score = model.zero_shot_probabilities if args.probabilities else model.zero_shot
        scores = score(records, prompts, batch_size=args.batch_size, window=args.window)
        labels = [p if isinstance(p, str) else " | ".join(p) for p in prompts]
        return [{**row, **{label: float(v) for label, v in zip(labels, values)}} for row, values in zip(base, scores)]
    if args.command == "report":
        reports = model.generate_reports(records, num_beams=args.num_beams, max_new_tokens=args.max_new_tokens,
                                         batch_size=args.batch_size)
        return [{**row, "report": report} for row, report in zip(base, reports)]
    rows = []
    for row, record in zip(base, records):
        explanation = model.explain(record, text=args.text)
        rows.append({**row, **{key: value.tolist() if isinstance(value, np.ndarray) else value
                               for key, value in vars(explanation).items()}})
    return rows


def _write(rows: list[dict], out: Path | None) -> None:
    if out is None:
        json.dump(rows, sys.stdout, indent=1)
        sys.stdout.write("\n")
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".json":
        out.write_text(json.dumps(rows, indent=1) + "\n")
        return
    columns = list(dict.fromkeys(key for row in rows for key in row))
    with open(out, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    configure_logging(logging.INFO if args.verbose else logging.WARNING)
    if args.out is not None and args.out.suffix not in OUTPUT_SUFFIXES:
        logger.error("--out %s: expected a .csv or .json file name", args.out)
        return EXIT_USAGE
    if args.command == "explain" and args.out is not None and args.out.suffix == ".csv":
        logger.error("--out %s: explain writes arrays; use a .json file", args.out)
        return EXIT_USAGE
    if args.command == "zeroshot":
        _warn_denied(_prompts(args))  # usage errors before the model loads
    import melp

    try:
        model = melp.load(args.model, device=args.device)
    except (FileNotFoundError, ValueError) as error:
        logger.error("%s", error)
        return EXIT_USAGE
    readable, failed = _read_all(args.files, args.fs, args.units)
    rows = dict(zip((position for position, _, _ in readable), _rows(args, model, readable) if readable else []))
    _write([rows[p] if p in rows else failed[p] for p in range(len(args.files))], args.out)
    logger.info("%d files done, %d failed", len(rows), len(failed))
    return EXIT_SOME_FAILED if failed else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
