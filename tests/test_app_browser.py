"""End to end in a real browser: Debian chromium driven by playwright (never a downloaded browser)."""
from __future__ import annotations

from pathlib import Path

import pytest

from app_server import ROOT, running_tiny_app, write_wfdb_record

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SCREENSHOTS = ROOT / "screenshots"
STEP_TIMEOUT_MS = 60_000
CUSTOM_PROMPT = "hyperkalaemia with peaked T waves"

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is absent; install Debian's chromium (apt-get install chromium) to run the browser tests",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")


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


def _open_and_analyse(browser, url: str, files: list[Path], record_id: str):
    """A fresh browser context (one user): open the app, upload a record, wait for plot and report."""
    page = browser.new_context(viewport={"width": 1500, "height": 1100}).new_page()
    page.set_default_timeout(STEP_TIMEOUT_MS)
    page.goto(url)
    page.locator("#upload input[type=file]").set_input_files([str(path) for path in files])
    sync_api.expect(page.locator("#record-info")).to_contain_text(record_id, timeout=STEP_TIMEOUT_MS)
    page.locator("#ecg-plot .js-plotly-plot").wait_for()
    page.locator("#analyse").click()
    page.locator("#heatmap-plot .js-plotly-plot").wait_for()
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
    # library record ids of the synthetic source start with 4000000
    sync_api.expect(first.locator("#record-info")).to_contain_text("4000000", timeout=STEP_TIMEOUT_MS)
    assert "af01" not in first.locator("#record-info").inner_text()
    assert "lbbb02" in second.locator("#record-info").inner_text()


HEATMAP_TRACES = "() => document.querySelector('#ecg-plot .js-plotly-plot').data.filter(t => t.type === 'heatmap').length"


def test_choosing_a_sentence_highlights_its_heartbeats_on_the_trace(browser, app_url, records):
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
