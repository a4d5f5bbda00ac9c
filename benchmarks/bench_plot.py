"""What drawing the 12-lead figure costs the browser: the app's ECG figure drawn by plotly.js in Chromium.

    python -m benchmarks.bench_plot [--record PATH.hea] [--repeats 15] [--no-append]

Builds the ECG panel's figure for a real record (``../shared/data/real-samples``, else a simulated one)
through the app's own handler, then draws it in Debian's chromium (playwright, never a downloaded
browser) with the plotly.js that the ``plotly`` package ships, the time from ``Plotly.newPlot`` to the
next frame. Two drawings of the same figure, interleaved in one run: the paper as the app draws it (one
tiled SVG pattern per row, ``ui.ecg_plot._paper_grid``) and the same paper drawn as plotly's own axis
grid (a line element per millimetre), which is what the app drew before. Prints the machine's load
average; appends to RESULTS.md.
"""
from __future__ import annotations

import argparse
import asyncio
import copy
import datetime
import json
import logging
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from app_server import CHROMIUM, CHROMIUM_ARGS, require_chromium  # noqa: E402  (tests/ is on sys.path above)
from benchmarks.machine import machine_line  # noqa: E402
from melp.logs import configure_logging  # noqa: E402

logger = logging.getLogger("bench_plot")
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
REAL_RECORD = ROOT.parent / "shared" / "data" / "real-samples" / "cinc2021" / "CPSC_CPSC-Extra" / "A0007.hea"
DRAW = """async (figure) => {
  const div = document.getElementById('plot');
  Plotly.purge(div);
  await new Promise(done => requestAnimationFrame(() => setTimeout(done, 0)));
  const start = performance.now();
  await Plotly.newPlot(div, figure.data, figure.layout);
  await new Promise(done => requestAnimationFrame(() => setTimeout(done, 0)));
  return [performance.now() - start, div.querySelectorAll('path, image').length];
}"""


def app_figure(record: Path | None) -> dict:
    """The ECG panel's figure for ``record`` (a simulated one without it), as the app sends it."""
    from ui import handlers

    if record is not None:
        _, _, figure = handlers.load_upload([str(record), str(record.with_suffix(".mat"))], None, None, None)
    else:
        from melp.synth.simulate import simulate

        _, _, figure = handlers.load_record(simulate(["sinus_rhythm"], 0).record)
    return json.loads(figure.to_json())


def with_axis_grid(figure: dict) -> dict:
    """The same figure with plotly's axis grid instead of the paper images (what the app drew before)."""
    from ui.ecg_plot import MAJOR_GRID_COLOUR, MAJOR_MM, MINOR_GRID_COLOUR, MINOR_MM, PaperScale

    scale = PaperScale()  # the app's first drawing of a record
    drawn = copy.deepcopy(figure)
    layout = drawn["layout"]
    paper = {image["yref"] for image in layout.pop("images", [])}
    for name, axis in layout.items():
        if not name.startswith(("xaxis", "yaxis")) or (name.startswith("yaxis") and "y" + name[5:] not in paper):
            continue
        mm_per_unit = scale.speed_mm_s if name.startswith("xaxis") else scale.gain_mm_mv
        major, minor = MAJOR_MM / mm_per_unit, MINOR_MM / mm_per_unit
        axis.update(showgrid=True, gridcolor=MAJOR_GRID_COLOUR, dtick=major, tick0=axis.get("tick0", 0.0),
                    minor=dict(dtick=minor, showgrid=True, gridcolor=MINOR_GRID_COLOUR))
    return drawn


async def draw_times(figures: dict[str, dict], repeats: int) -> tuple[dict[str, list[float]], dict[str, int], str]:
    """Milliseconds per drawing of each figure (interleaved), SVG elements drawn, plotly.js version."""
    import plotly
    from playwright.async_api import async_playwright

    plotly_js = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    times: dict[str, list[float]] = {name: [] for name in figures}
    elements: dict[str, int] = {}
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = await browser.new_page(viewport={"width": 1600, "height": 1100})
        await page.set_content("<div id='plot'></div>")
        await page.add_script_tag(path=str(plotly_js))
        version = await page.evaluate("Plotly.version")
        for repeat in range(repeats + 1):  # the first round warms the page up and is not counted
            for name, figure in figures.items():
                milliseconds, elements[name] = await page.evaluate(DRAW, figure)
                if repeat:
                    times[name].append(milliseconds)
        await browser.close()
    return times, elements, version


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--record", type=Path, default=REAL_RECORD if REAL_RECORD.exists() else None)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--no-append", action="store_true")
    args = parser.parse_args(argv)
    configure_logging(fmt="%(message)s")
    require_chromium()
    figure = app_figure(args.record)
    figures = {"paper as one pattern per row (the app)": figure, "plotly's axis grid (before)": with_axis_grid(figure)}
    times, elements, version = asyncio.run(draw_times(figures, args.repeats))
    medians = {name: statistics.median(values) for name, values in times.items()}
    (mine, before) = medians.values()
    record = args.record.stem if args.record else "simulated sinus rhythm"
    header = f"{machine_line(1)}, chromium {CHROMIUM}, plotly.js {version}, record {record}, 3 x 4 + rhythm strip"
    rows = [(f"draw the ECG figure: {name}", f"{medians[name]:.0f} ms (median of {args.repeats}; "
                                              f"{elements[name]} path/image elements)") for name in figures]
    rows.append(("speed-up of the paper pattern", f"{before / mine:.2f}x"))
    table = "\n".join(["| measure | value |", "|---|---|"] + [f"| {name} | {value} |" for name, value in rows])
    logger.info("%s\n%s", header, table)
    if not args.no_append:
        with RESULTS.open("a") as handle:
            handle.write(f"\n## Drawing the ECG figure (benchmarks/bench_plot.py, {datetime.date.today()})\n\n"
                         f"Command: `python -m benchmarks.bench_plot`. {header}.\n\n{table}\n")


if __name__ == "__main__":
    main()
