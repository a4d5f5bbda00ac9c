"""End to end in a real browser: Debian chromium driven by playwright (never a downloaded browser)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from app_server import CHROMIUM, CHROMIUM_ARGS, ROOT, running_tiny_app, write_wfdb_record

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SCREENSHOTS = ROOT / "screenshots"
STEP_TIMEOUT_MS = 60_000
CUSTOM_PROMPT = "hyperkalaemia with peaked T waves"

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is absent; install Debian's chromium (apt-get install chromium) to run the browser tests",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")
sync_api.expect.set_options(timeout=STEP_TIMEOUT_MS)  # model calls queue one at a time on a 2-core machine


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    with running_tiny_app(tmp_path_factory.mktemp("browser-app")) as url:
        yield url


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    folder = tmp_path_factory.mktemp("browser-records")
    return {"af01": write_wfdb_record(folder, "af01", ("atrial_fibrillation",), seed=3),
            "lbbb02": write_wfdb_record(folder, "lbbb02", ("sinus_rhythm", "lbbb"), seed=4)}


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


RECORD_FIGURE = """(id) => { const p = document.querySelector('#ecg-plot .js-plotly-plot');
  return !!(p && p._fullLayout && JSON.stringify(p._fullLayout.title || '').includes(id)); }"""


def _wait_for_record_figure(page, record_id: str) -> None:
    """The ECG panel shows this record (before any upload it shows blank paper)."""
    page.wait_for_function(RECORD_FIGURE, arg=record_id, timeout=STEP_TIMEOUT_MS)


def test_blank_paper_is_drawn_with_the_page_so_plotly_is_loaded_before_the_first_upload(browser, app_url):
    page = browser.new_context(viewport={"width": 1500, "height": 1100}).new_page()
    page.set_default_timeout(STEP_TIMEOUT_MS)
    page.goto(app_url)
    page.locator("#ecg-plot .js-plotly-plot").wait_for()
    title = page.evaluate("() => document.querySelector('#ecg-plot .js-plotly-plot')._fullLayout.title.text")
    assert "No ECG loaded" in title
    _assert_paper_grid_where_plotly_puts_the_scale(page)
    page.context.close()


GRID_POINTS = """(points) => {
  const gd = document.querySelector('#ecg-plot .js-plotly-plot'), full = gd._fullLayout, box = gd.getBoundingClientRect();
  return points.map(([t, mv]) => [box.left + full.xaxis._offset + full.xaxis.l2p(t),
                                  box.top + full.yaxis._offset + full.yaxis.l2p(mv)]);
}"""


def _assert_paper_grid_where_plotly_puts_the_scale(page) -> None:
    """The paper drawn under the traces lines up with plotly's axes: on the screen, a 5 mm line at 1.0 s, a
    1 mm line at 1.04 s and bare paper half a millimetre from either (at 0.25 mV, between two 1 mm lines)."""
    from io import BytesIO

    from PIL import Image

    page.locator("#ecg-plot").scroll_into_view_if_needed()
    points = page.evaluate(GRID_POINTS, [[1.0, 0.25], [1.04, 0.25], [1.02, 0.25]])
    shot = Image.open(BytesIO(page.screenshot())).convert("RGB")
    # green channel: paper about 247, a 1 mm line about 219, a 5 mm line about 163 (their colours over the paper)
    def darkest(x: float, y: float) -> int:  # within a pixel of where plotly puts the point
        return min(shot.getpixel((int(round(x)) + dx, int(round(y))))[1] for dx in (-1, 0, 1))
    major, minor, paper = (darkest(x, y) for x, y in points)
    assert major < 190 and 200 < minor < 235 and paper > 240, (major, minor, paper)


def _open_and_upload(browser, url: str, files: list[Path], record_id: str):
    """A fresh browser context (one user): open the app, upload a record and wait for the analysis the
    upload starts to finish (the neighbour cards come last)."""
    page = browser.new_context(viewport={"width": 1500, "height": 1100}).new_page()
    page.set_default_timeout(STEP_TIMEOUT_MS)
    page.goto(url)
    page.locator("#upload input[type=file]").set_input_files([str(path) for path in files])
    sync_api.expect(page.locator("#record-info")).to_contain_text(record_id, timeout=STEP_TIMEOUT_MS)
    _wait_for_record_figure(page, record_id)
    page.locator("#neighbour-cards .melp-card").first.wait_for()
    return page


def _open_and_analyse(browser, url: str, files: list[Path], record_id: str):
    """As _open_and_upload, then press Analyse and wait for its report."""
    page = _open_and_upload(browser, url, files, record_id)
    page.locator("#report-text textarea").fill("(to be replaced)")
    page.locator("#analyse").click()
    page.wait_for_function("() => document.querySelector('#report-text textarea').value !== '(to be replaced)'")
    return page


def test_upload_analyse_score_and_open_neighbour_in_two_isolated_sessions(browser, app_url, records):
    SCREENSHOTS.mkdir(exist_ok=True)
    first = _open_and_analyse(browser, app_url, records["af01"], "af01")
    second = _open_and_analyse(browser, app_url, records["lbbb02"], "lbbb02")
    first.screenshot(path=str(SCREENSHOTS / "app-analysed.png"), full_page=True)

    first.locator("#prompts textarea").fill(CUSTOM_PROMPT)
    first.locator("#score").click()
    sync_api.expect(first.locator("#scores-table")).to_contain_text(CUSTOM_PROMPT, timeout=STEP_TIMEOUT_MS)
    first.locator("#scores-plot .js-plotly-plot").wait_for()
    first.screenshot(path=str(SCREENSHOTS / "app-scores.png"), full_page=True)

    # Each context kept its own record and results.
    assert "af01" in first.locator("#record-info").inner_text()
    assert "lbbb02" in second.locator("#record-info").inner_text()
    assert "af01" not in second.locator("#record-info").inner_text()
    assert CUSTOM_PROMPT not in second.locator("#scores-table").inner_text()

    first.locator("#neighbour-cards .melp-card").first.wait_for()
    first.screenshot(path=str(SCREENSHOTS / "app-neighbours.png"), full_page=True)
    first.locator("#open-neighbour").click()
    # library record ids of the synthetic source are 40000000 + their index
    sync_api.expect(first.locator("#record-info")).to_contain_text(re.compile(r"\b4000\d{4}\b"),
                                                                   timeout=STEP_TIMEOUT_MS)
    assert "af01" not in first.locator("#record-info").inner_text()
    assert "lbbb02" in second.locator("#record-info").inner_text()


HEATMAP_TRACES = "() => document.querySelector('#ecg-plot .js-plotly-plot').data.filter(t => t.type === 'heatmap').length"


def test_choosing_a_sentence_highlights_its_heartbeats_on_the_trace(browser, app_url, records):
    # right after Analyse, whose chain may still be scoring: scores no longer write the session, so the
    # heatmap asked for meanwhile is not overwritten by an older copy (it was, under CPU load)
    page = _open_and_analyse(browser, app_url, records["lbbb02"], "lbbb02")
    page.locator("#report-text textarea").fill("Sinus rhythm. Premature ventricular complexes.")
    page.locator("#heatmap-for-text").click()
    sync_api.expect(page.locator("#sentence-choice")).to_contain_text("2. premature ventricular complexes.")
    assert page.evaluate(HEATMAP_TRACES) == 0  # nothing shaded before a choice, no overlay switched on
    page.locator("#sentence-choice label").nth(1).click()
    page.wait_for_function(f"() => ({HEATMAP_TRACES})() > 0", timeout=STEP_TIMEOUT_MS)
    heatmap_columns = page.evaluate("() => document.querySelector('#heatmap-plot .js-plotly-plot').layout.xaxis.ticktext")
    assert heatmap_columns and all(label.isdigit() for label in heatmap_columns)  # heartbeats, numbered as on the strip
    page.screenshot(path=str(SCREENSHOTS / "app-sentence-heartbeats.png"), full_page=True)


GRID_RATIO = """() => {
  const gd = document.querySelector('#ecg-plot .js-plotly-plot'), full = gd._fullLayout;
  const xa = full.xaxis, ya = full.yaxis;
  const pxPerSecond = xa._length / (xa.range[1] - xa.range[0]);
  const pxPerMv = ya._length / (ya.range[1] - ya.range[0]);
  return (pxPerSecond / 25) / (pxPerMv / 10);   // mm per mm: 1 when a grid square is square
}"""
CLICK_POINTS = """(times) => {
  const gd = document.querySelector('#ecg-plot .js-plotly-plot'), full = gd._fullLayout;
  const rows = Object.keys(full).filter(k => /^yaxis\\d*$/.test(k)).length;
  const xa = full['xaxis' + (rows > 1 ? rows : '')], ya = full['yaxis' + (rows > 1 ? rows : '')];
  const box = gd.getBoundingClientRect();
  return times.map(t => [box.left + xa._offset + xa.l2p(t), box.top + ya._offset + ya._length / 2]);
}"""


def _page(browser, url: str, width: int, height: int = 1100):
    page = browser.new_context(viewport={"width": width, "height": height}).new_page()
    page.set_default_timeout(STEP_TIMEOUT_MS)
    page.goto(url)
    return page


def _upload(page, files, record_id: str) -> None:
    page.locator("#upload input[type=file]").set_input_files([str(path) for path in files])
    sync_api.expect(page.locator("#record-info")).to_contain_text(record_id, timeout=STEP_TIMEOUT_MS)
    _wait_for_record_figure(page, record_id)


@pytest.mark.parametrize("width", [1920, 1366, 390], ids=["desktop-wide", "desktop", "phone"])
def test_grid_squares_stay_square_at_every_width(browser, app_url, records, width):
    page = _page(browser, app_url, width)
    _upload(page, records["af01"], "af01")
    assert page.evaluate(GRID_RATIO) == pytest.approx(1.0, rel=0.01)
    page.screenshot(path=str(SCREENSHOTS / f"app-true-scale-{width}.png"))
    page.locator("#layout-choice label", has_text="12x1").click()
    page.wait_for_function("() => document.querySelectorAll('#ecg-plot .js-plotly-plot .subplot').length >= 12")
    assert page.evaluate(GRID_RATIO) == pytest.approx(1.0, rel=0.01)


def test_calipers_give_interval_rate_and_voltage(browser, app_url, records):
    page = _page(browser, app_url, 1500)
    _upload(page, records["af01"], "af01")
    page.locator("#ecg-plot").scroll_into_view_if_needed()
    page.wait_for_timeout(1000)  # the caliper script binds to the new figure
    for x, y in page.evaluate(CLICK_POINTS, [2.0, 3.0]):
        page.mouse.click(x, y)
        page.wait_for_timeout(300)
    sync_api.expect(page.locator("#caliper-readout")).to_contain_text(" bpm", timeout=STEP_TIMEOUT_MS)
    text = page.locator("#caliper-readout").inner_text()
    milliseconds, bpm = (int(value) for value in re.search(r"(\d+) ms = (\d+) bpm", text).groups())
    assert 980 <= milliseconds <= 1020 and 59 <= bpm <= 61 and "mV" in text


def test_a_second_upload_replaces_the_first_and_a_later_window_can_be_shown(browser, app_url, records, tmp_path):
    long_record = write_wfdb_record(tmp_path, "long38", ("sinus_rhythm",), seed=5, seconds=38.0)
    page = _page(browser, app_url, 1500)
    _upload(page, records["af01"], "af01")
    sync_api.expect(page.locator("#upload")).not_to_contain_text("af01")  # the box is emptied once read
    _upload(page, long_record, "long38")  # not "found 2 .hea files", nor lost when chosen quickly
    assert "af01" not in page.locator("#record-info").inner_text()
    sync_api.expect(page.locator("#findings")).to_contain_text("long38")  # its analysis ran, not only af01's
    track = page.locator("#window-start input[type=range]")
    page.wait_for_function("() => Number(document.querySelector('#window-start input[type=range]').max) > 20")
    box = track.bounding_box()
    page.mouse.click(box["x"] + box["width"] - 2, box["y"] + box["height"] / 2)  # drag to the end of the record
    sync_api.expect(page.locator("#record-info")).to_contain_text("of 38.0 s", timeout=STEP_TIMEOUT_MS)
    page.wait_for_function("() => document.querySelector('#ecg-plot .js-plotly-plot')._fullLayout.xaxis.range[1] > 30")


def test_export_gives_a_pdf_page_at_true_scale(browser, app_url, records):
    page = _page(browser, app_url, 1500)
    _upload(page, records["af01"], "af01")
    page.locator("#export-pdf").click()
    link = page.locator("#export-file a").first
    link.wait_for()
    href = link.get_attribute("href")
    assert href.endswith("af01-ecg.pdf") or (link.get_attribute("download") or "").endswith("af01-ecg.pdf")
    content = page.request.get(href).body()
    box = re.search(rb"/MediaBox \[ *0 0 ([\d.]+) ([\d.]+) *\]", content)
    assert float(box.group(1)) == pytest.approx(841.9, abs=1) and float(box.group(2)) == pytest.approx(595.3, abs=1)
