"""Time from upload to every app panel filled, for one 10 s record, split by stage.

    OMP_NUM_THREADS=2 python benchmarks/bench_app.py [--model checkpoints/melp-demo] [--library DIR] \
        [--precision fp32|auto|bf16|int8] [--repeats 5]

Stages are the app's own handlers, called as the app chains them after an upload: read + preprocess +
the 12-lead figure, the likely findings, the report with its heartbeat matrix, the redraw, the prompt
scores, the neighbours. Server work only: benchmarks/bench_browser.py measures what a person waits for in
Chromium. Appends a section to benchmarks/RESULTS.md.
"""
from __future__ import annotations

import argparse
import logging
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import melp  # noqa: E402
from benchmarks.machine import machine_line  # noqa: E402
from melp.data.beats import clear_cache as clear_beats_cache  # noqa: E402
from ui import analysis, handlers, readings  # noqa: E402

logger = logging.getLogger("bench_app")

RESULTS = ROOT / "benchmarks" / "RESULTS.md"
TARGET_SECONDS = 2.0
PROMPTS = ["atrial fibrillation", "sinus rhythm", "left bundle branch block", "inferior ST elevation",
           "first degree AV block", "left ventricular hypertrophy"]
NEIGHBOURS = 6
REPORT_TOKENS = 64
LIBRARY_SOURCE = "simulated:11:200"  # built next to the record when no --library is given


def _fixture(folder: Path) -> list[Path]:
    sys.path.insert(0, str(ROOT / "tests"))
    from app_server import write_wfdb_record

    return write_wfdb_record(folder, "bench01", ("sinus_rhythm", "lbbb"), seed=5)


def _library(path: str | None, model, model_path: str, folder: Path):
    from index.build import build_library
    from index.library import Library

    if path is None:
        path = str(folder / "library")
        build_library(LIBRARY_SOURCE, path, model, model_path=model_path, force=True)
    return Library.open(path, model=model)


def one_pass(files: list[Path], model, library) -> dict[str, float]:
    """Seconds per stage for one upload-to-all-panels pass, through the app's own handlers in the order the
    app chains them after an upload (findings, report + heartbeat matrix, redraw when an overlay is on,
    scores, neighbours)."""
    times: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        times[name] = now - clock
        clock = now

    clear_beats_cache()  # each pass is a new upload: its beats are not known yet
    preprocess = melp.PreprocessConfig(**model.config.preprocess)
    with tempfile.TemporaryDirectory(prefix="bench-upload-") as folder:
        copies = [shutil.copy(path, Path(folder) / path.name) for path in files]
        session, _, _ = handlers.load_upload([str(path) for path in copies], None, None, preprocess)
    lap("read + preprocess + ECG figure")
    readings.lead_findings(session, model)
    lap("likely findings")
    session, *_ = analysis.generate_report(session, 1, REPORT_TOKENS, model, progress=lambda *a, **k: None)
    lap("report + heartbeat matrix")
    handlers.redraw_if_overlaid(session, [], 1)
    lap("redraw (skipped: no overlay on)")
    readings.score_prompts(session, "\n".join(PROMPTS), None, model, {}, library)
    lap("scores")
    handlers.similar_ecgs(session, NEIGHBOURS, library)
    lap("neighbours")
    return times


def _shown(path: str) -> str:
    """The path as written in RESULTS.md: relative to the repository when inside it, never a home folder."""
    resolved = Path(path).resolve()
    return str(resolved.relative_to(ROOT)) if resolved.is_relative_to(ROOT) else resolved.name


def _append_results(medians: dict[str, float], args: argparse.Namespace, model, n_library: int) -> str:
    total = sum(medians.values())
    lines = ["", "## App: upload to every panel filled (benchmarks/bench_app.py)", "",
             f"One 10 s 500 Hz WFDB record, model `{_shown(args.model)}`, library of {n_library} ECGs, "
             f"median of {args.repeats} passes after one warm-up; {machine_line(args.threads)} at the end, precision "
             f"{args.precision} ({model.provenance.precision}). Target: under {TARGET_SECONDS:g} s in all.", "",
             "| stage | seconds |", "|---|---|"]
    lines += [f"| {name} | {seconds:.3f} |" for name, seconds in medians.items()]
    lines += [f"| **total** | **{total:.3f}** ({'meets' if total < TARGET_SECONDS else 'misses'} the target) |", ""]
    section = "\n".join(lines)
    if not RESULTS.exists():
        RESULTS.write_text("# Benchmark results\n")
    with RESULTS.open("a") as handle:
        handle.write(section)
    return section


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(ROOT / "checkpoints" / "melp-demo"))
    parser.add_argument("--library", default=None, help="library folder (default: build a 200-ECG synthetic one)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--precision", default="auto", help="as melp.load (the app uses auto)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    import torch

    torch.set_num_threads(args.threads)
    if not (Path(args.model) / "config.json").exists():
        raise SystemExit(f"{args.model}: no model there; train the demo model or pass --model PATH")
    model = melp.load(args.model, precision=args.precision)
    with tempfile.TemporaryDirectory(prefix="bench-app-") as folder:
        files = _fixture(Path(folder))
        library = _library(args.library, model, args.model, Path(folder))
        one_pass(files, model, library)  # warm-up: first-call allocations, lazy index loads
        passes = [one_pass(files, model, library) for _ in range(args.repeats)]
    medians = {name: statistics.median(run[name] for run in passes) for name in passes[0]}
    logger.info("\n%s", _append_results(medians, args, model, len(library)))


if __name__ == "__main__":
    main()
