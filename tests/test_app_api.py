"""The app as an API: launched on localhost with a tiny model and library, driven with gradio_client."""
from __future__ import annotations

import json

import pytest
from gradio_client import Client, handle_file

from app_server import running_tiny_app, write_wfdb_record

pytestmark = pytest.mark.slow

EXPECTED_ENDPOINTS = {"/load_record", "/load_example", "/analyse", "/score", "/report", "/heatmap", "/explain",
                      "/select_sentence", "/select_prompt", "/redraw", "/neighbours", "/search", "/open_neighbour",
                      "/findings", "/set_window", "/set_layout_choice", "/set_speed", "/set_gain", "/export_pdf",
                      "/export_png", "/compare"}


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    with running_tiny_app(tmp_path_factory.mktemp("app")) as url:
        yield url


@pytest.fixture(scope="module")
def fixture_record(tmp_path_factory):
    return write_wfdb_record(tmp_path_factory.mktemp("record"), "af01", ("atrial_fibrillation",), seed=3)


@pytest.fixture()
def client(app_url):
    return Client(app_url, verbose=False)


def _plot_json(plot_value: dict) -> dict:
    return json.loads(plot_value["plot"])


def test_every_action_is_a_named_endpoint(client):
    named = set(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
    assert EXPECTED_ENDPOINTS <= named


def test_uploaded_record_scores_report_heatmap_and_neighbours(client, fixture_record):
    info, ecg_plot = client.predict([handle_file(str(path)) for path in fixture_record], 500, api_name="/load_record")
    assert "af01" in info and "500 Hz" in info
    lead_traces = [trace for trace in _plot_json(ecg_plot)["data"] if trace.get("type") == "scatter"]
    assert len(lead_traces) >= 13

    _, rows, _ = client.predict("atrial fibrillation\nsinus rhythm\nleft bundle branch block\n🫀", "(custom only)",
                                api_name="/score")
    readings = {row[0]: row[1] for row in rows["data"]}
    assert set(readings) == {"atrial fibrillation", "sinus rhythm", "left bundle branch block", "🫀"}
    assert readings["🫀"].startswith("no score")
    # the tiny test model has no calibration: statements are read against the reference library
    assert all(text.startswith("higher than") for prompt, text in readings.items() if prompt != "🫀")
    _, alone, _ = client.predict("sinus rhythm", "(custom only)", api_name="/score")
    assert alone["data"][0][1] == readings["sinus rhythm"]  # the same reading whatever else is on screen

    report, heatmap_plot, heatmap, _ = client.predict(1, 16, api_name="/report")
    assert isinstance(report, str)
    assert len(heatmap["sentence_heartbeat_similarity"]) == len(heatmap["sentences"])

    _, edited, _ = client.predict("Atrial fibrillation. Abnormal ECG.", api_name="/heatmap")
    assert len(edited["sentences"]) == 2
    assert all(len(row) == len(edited["heartbeats"]) for row in edited["sentence_heartbeat_similarity"])

    cards, suggestions, choices = client.predict(3, api_name="/neighbours")
    assert cards.count("melp-card") == 3 and "<svg" in cards
    row_id = choices["choices"][0][1]
    info, _ = client.predict(row_id, api_name="/open_neighbour")
    assert "Sampling rate" in info


def test_text_search_returns_library_ecgs(client):
    cards, choices = client.predict("inferior ST elevation", 2, api_name="/search")
    assert cards.count("melp-card") == 2 and len(choices["choices"]) == 2


def test_bad_upload_is_an_error_and_the_app_stays_usable(client, fixture_record, tmp_path):
    image = tmp_path / "scan.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    with pytest.raises(Exception, match="image or PDF|Invalid file type"):  # gradio's type check may answer first
        client.predict([handle_file(str(image))], 500, api_name="/load_record")
    with pytest.raises(Exception, match="af01"):
        client.predict([handle_file(str(fixture_record[0]))], 500, api_name="/load_record")  # .hea without .dat
    info, _ = client.predict([handle_file(str(path)) for path in fixture_record], 500, api_name="/load_record")
    assert "af01" in info


def _bad_uploads(folder):
    """Files a person (or a script) could hand the app: each must be refused clearly."""
    import numpy as np

    np.save(folder / "flat.npy", np.zeros((12, 2000)))
    huge = folder / "huge.npy"
    with open(huge, "wb") as handle:
        np.lib.format.write_array_header_1_0(handle, {"descr": "<f8", "fortran_order": False, "shape": (12, 10**12)})
    (folder / "ragged.csv").write_text("I,II,III\n1,2,3\n4,5\n")
    (folder / "rec.hea").write_text("rec 12 500 1000\n" + "".join(f"/etc/passwd 16 1000/mV 16 0 0 0 0 L{i}\n"
                                                                   for i in range(12)))
    return [[folder / "flat.npy"], [huge], [folder / "ragged.csv"], [folder / "rec.hea"]]


def test_every_bad_upload_gets_a_clear_message_and_the_next_good_one_works(client, fixture_record, tmp_path):
    for files in _bad_uploads(tmp_path):
        with pytest.raises(Exception) as caught:
            client.predict([handle_file(str(path)) for path in files], 500, api_name="/load_record")
        message = str(caught.value)
        assert files[0].name in message and "upstream" not in message
        assert "/tmp" not in message and "/etc" not in message
        info, _ = client.predict([handle_file(str(path)) for path in fixture_record], 500, api_name="/load_record")
        assert "af01" in info


def test_header_text_comes_back_escaped_through_the_api(client, fixture_record, tmp_path):
    header = tmp_path / "af01.hea"
    header.write_text(fixture_record[0].read_text() + "#report: <script>alert(1)</script>\n")
    info, _ = client.predict([handle_file(str(header)), handle_file(str(fixture_record[1]))], 500,
                             api_name="/load_record")
    assert "<script>" not in info and "&lt;script&gt;" in info


def test_viewer_endpoints_window_scale_export_and_compare(client, tmp_path):
    import re

    long_record = write_wfdb_record(tmp_path, "long38", ("sinus_rhythm",), seed=5, seconds=38.0)
    info, _ = client.predict([handle_file(str(path)) for path in long_record], 500, "mV", api_name="/load_record")
    assert "0-10 s of 38.0 s" in info and "Ventricular rate" in info
    info, plot = client.predict(20, api_name="/set_window")
    assert "20-30 s of 38.0 s" in info and _plot_json(plot)["layout"]["xaxis"]["range"][1] == 30
    plot = client.predict("12x1", "25", "10", [], 1, api_name="/set_layout_choice")
    assert sum(1 for trace in _plot_json(plot)["data"] if trace.get("name") == "1 mV calibration") == 12
    pdf = client.predict("A4", "Sinus rhythm.", api_name="/export_pdf")
    content = open(pdf, "rb").read()
    assert pdf.endswith("long38_20s-ecg.pdf") and re.search(rb"/MediaBox \[ *0 0 841", content)
    cards, _, choices = client.predict(2, api_name="/neighbours")
    current, other, table = client.predict(choices["choices"][0][1], None, 500, "mV", api_name="/compare")
    assert "Ventricular rate" in table and _plot_json(current)["layout"]["width"] == _plot_json(other)["layout"]["width"]
