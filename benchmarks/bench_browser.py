"""What a person waits for: the app measured in Chromium, from choosing a file to the last panel filled.

    python -m benchmarks.bench_browser [--model checkpoints/melp-demo] [--library index/default] \
        [--precision auto] [--threads 2] [--repeats 5] [--sessions 20] [--no-append]

Starts `python app.py` (the default model and library unless told otherwise) and times start-up to
serving. Then, in Debian's chromium driven by playwright (never a downloaded browser), for real records
of ``../shared/data/real-samples/cinc2021``: the time from the upload to the record panel, the 12-lead
figure drawn, the likely findings, the report heatmap, the scores chart and the neighbour cards (the
last panel). First record on a fresh page, then a second record on the same page. Then ``--sessions``
pages upload at once (one browser context each) and the time to their last panel is reported as p50 /
p95. The server-side share of the wait comes from benchmarks/bench_app.py's handlers run in this process
on the same record; transfer + rendering is the rest (by subtraction). Appends to RESULTS.md.
"""
from __future__ import annotations

import argparse
import asyncio
import datetime
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from app_server import CHROMIUM, CHROMIUM_ARGS, require_chromium  # noqa: E402  (tests/ is on sys.path above)

logger = logging.getLogger("bench_browser")
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
REAL = ROOT.parent / "shared" / "data" / "real-samples" / "cinc2021"
TIMEOUT_MS = 180_000
# panel -> the JS expression whose value says what the panel shows now, in the order the app fills them;
# a panel counts as filled for this upload once it names the record or its value differs from before it
PANELS = {"ECG figure": "(() => { const p = document.querySelector('#ecg-plot .js-plotly-plot');"
                        " return p && p._fullLayout ? JSON.stringify(p._fullLayout.title || '') : ''; })()",
          "likely findings": "(document.querySelector('#findings') || {}).innerText || ''",
          "report heatmap": "(() => { const p = document.querySelector('#heatmap-plot .js-plotly-plot');"
                            " return p && p.data ? JSON.stringify(p.data) : ''; })()",
          "scores": "(() => { const p = document.querySelector('#scores-plot .js-plotly-plot');"
                    " return p && p.data ? JSON.stringify(p.data) : ''; })()",
          "neighbours": "(() => { const c = document.querySelector('#neighbour-cards');"
                        " return c && c.querySelector('.melp-card') ? c.innerText : ''; })()"}
NAMES_RECORD = {"ECG figure", "likely findings"}  # these name the record they show


def real_files(n: int) -> list[list[Path]]:
    headers = sorted(p for p in REAL.rglob("*.hea") if not p.name.startswith("HR"))[:n]
    if len(headers) < n:
        raise SystemExit(f"{REAL}: fewer than {n} real records; the benchmark needs ../shared/data/real-samples")
    return [[header, header.with_suffix(".mat")] for header in headers]


async def one_upload(page, files: list[Path]) -> dict[str, float]:
    """Seconds from set_input_files to each panel filled with this record's content."""
    record_id = files[0].stem
    before = {name: await page.evaluate(expression) for name, expression in PANELS.items()}
    start = time.perf_counter()
    await page.locator("#upload input[type=file]").set_input_files([str(path) for path in files])
    times = {}
    await page.locator("#record-info", has_text=record_id).wait_for(timeout=TIMEOUT_MS)
    times["record panel"] = time.perf_counter() - start
    for name, expression in PANELS.items():
        check = ("([id, old]) => { const now = " + expression + "; return now !== '' && "
                 + ("now.includes(id)" if name in NAMES_RECORD else "now !== old") + "; }")
        await page.wait_for_function(check, arg=[record_id, before[name]], timeout=TIMEOUT_MS)
        times[name] = time.perf_counter() - start
    return times


async def _fresh_page(browser, url: str):
    context = await browser.new_context(viewport={"width": 1600, "height": 1100})
    page = await context.new_page()
    await page.goto(url)
    # the page is ready to take a file once its blank ECG paper is drawn (a person needs longer to choose one)
    await page.locator("#upload input[type=file]").wait_for(state="attached", timeout=TIMEOUT_MS)
    await page.locator("#ecg-plot .js-plotly-plot").wait_for(timeout=TIMEOUT_MS)
    return context, page


async def sequential(browser, url: str, records: list[list[Path]], repeats: int) -> dict[str, dict[str, float]]:
    first, second = [], []
    for repeat in range(repeats):
        context, page = await _fresh_page(browser, url)
        # a record never uploaded before in this server: its beats and uploads are not cached yet
        first.append(await one_upload(page, records[2 * repeat]))
        second.append(await one_upload(page, records[2 * repeat + 1]))
        await context.close()
    median = lambda runs: {name: statistics.median(run[name] for run in runs) for name in runs[0]}  # noqa: E731
    return {"first record": median(first), "next record": median(second)}


async def concurrent(browser, url: str, records: list[list[Path]], sessions: int) -> list[float]:
    pages = [await _fresh_page(browser, url) for _ in range(sessions)]
    fresh = records[-sessions:]  # not the ones the sequential uploads used
    results = await asyncio.gather(*(one_upload(page, fresh[i]) for i, (_, page) in enumerate(pages)))
    for context, _ in pages:
        await context.close()
    return sorted(result["neighbours"] for result in results)


def _wait_for_line(log_path: Path, text: str, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while text not in log_path.read_text(errors="replace"):
        if time.monotonic() > deadline:
            raise TimeoutError(f"no {text!r} in {log_path} after {timeout:g} s")
        time.sleep(0.05)


def server_seconds(args: argparse.Namespace, files: list[Path]) -> float:
    """The app's handlers for one upload, in this process (benchmarks/bench_app.py), median of 3."""
    import torch

    import melp
    from benchmarks.bench_app import one_pass
    from index.library import Library

    torch.set_num_threads(args.threads)
    model = melp.load(args.model, precision=args.precision)
    library = Library.open(args.library, model=model)
    one_pass(files, model, library)
    return statistics.median(sum(one_pass(files, model, library).values()) for _ in range(3))


async def run(args: argparse.Namespace) -> list[tuple[str, str]]:
    from playwright.async_api import async_playwright

    from app_server import running_app

    records = real_files(2 * args.repeats + args.sessions)  # every upload a different record
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-browser-") as folder:
        start = time.perf_counter()
        with running_app(Path(args.model), Path(args.library), Path(folder) / "app.log", threads=args.threads,
                         extra_args=("--precision", args.precision)) as url:
            rows.append(("start-up to serving (python app.py until the page answers)",
                         f"{time.perf_counter() - start:.1f} s (target < 6 s)"))
            # the model and library load after the page is served; the records below are timed once they are
            # there (a first upload before that waits for them)
            _wait_for_line(Path(folder) / "app.log", "serving model")
            rows.append(("start-up to the model and library loaded (the app's log line)",
                         f"{time.perf_counter() - start:.1f} s"))
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
                waits = await sequential(browser, url, records, args.repeats)
                for which, times in waits.items():
                    target = 1.5 if which == "first record" else 1.0
                    rows += [(f"{which}: upload to {name}", f"{seconds:.2f} s") for name, seconds in times.items()]
                    rows.append((f"{which}: every panel filled (p50 of {args.repeats})",
                                 f"{times['neighbours']:.2f} s (target < {target:g} s)"))
                if args.sessions:
                    try:
                        ends = await concurrent(browser, url, records, args.sessions)
                    except Exception:
                        tail = (Path(folder) / "app.log").read_text(errors="replace").splitlines()[-40:]
                        logger.error("the app's log, last lines:\n%s", "\n".join(tail))
                        raise
                    p50, p95 = statistics.median(ends), ends[min(len(ends) - 1, int(round(0.95 * (len(ends) - 1))))]
                    rows.append((f"{args.sessions} concurrent sessions: every panel filled p50 / p95",
                                 f"{p50:.2f} / {p95:.2f} s (target p95 < 3 s)"))
                await browser.close()
    server = server_seconds(args, records[0])
    rows.append(("server work for one upload (the app's handlers in-process)", f"{server:.2f} s"))
    rows.append(("first record: transfer + rendering (browser wait - server work)",
                 f"{waits['first record']['neighbours'] - server:.2f} s"))
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=str(ROOT / "checkpoints" / "melp-demo"))
    parser.add_argument("--library", default=str(ROOT / "index" / "default"))
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--no-append", action="store_true")
    args = parser.parse_args(argv)
    from benchmarks.machine import machine_line  # after ROOT is on sys.path (also run as a script)
    from melp.logs import configure_logging

    configure_logging(fmt="%(message)s")
    require_chromium()
    rows = asyncio.run(run(args))
    header = (f"{machine_line(args.threads)} at the end (app threads), precision {args.precision}, "
              f"chromium {CHROMIUM}")
    table = "\n".join(["| measure | value |", "|---|---|"] + [f"| {name} | {value} |" for name, value in rows])
    logger.info("%s\n%s", header, table)
    if not args.no_append:
        with RESULTS.open("a") as handle:
            handle.write(f"\n## App in a browser (benchmarks/bench_browser.py, {datetime.date.today()})\n\n"
                         f"Command: `python -m benchmarks.bench_browser --precision {args.precision}`. {header}.\n\n"
                         f"{table}\n")


if __name__ == "__main__":
    main()
