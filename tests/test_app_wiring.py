"""How the app chains its events, read from the built gradio config (no server, no browser)."""
from __future__ import annotations

import pytest

from app_server import tiny_library_dir, tiny_model_dir

@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    import app

    folder = tmp_path_factory.mktemp("wiring")
    model_dir = tiny_model_dir(folder / "model")
    library_dir = tiny_library_dir(folder / "library", model_dir)
    return app.build_demo(app.load_resources(str(model_dir), str(library_dir), "fp32"))


@pytest.fixture(scope="module")
def dependencies(demo):
    return demo.get_config_file()["dependencies"]


def test_the_app_sends_no_telemetry_and_checks_no_version_online(demo):
    assert demo.analytics_enabled is False


# API endpoint -> (elem_id, event) of the control whose event loads and analyses in the browser
LOADERS = {"load_record": ("upload", "upload"), "load_example": ("load-example", "click"),
           "open_neighbour": ("open-neighbour", "click"), "set_window": ("window-start", "release")}


@pytest.mark.parametrize("loader", LOADERS)
def test_a_load_streams_the_record_then_its_analysis_in_one_event(demo, dependencies, loader):
    """In the browser a load is one streaming event: record panel, figure and window slider, then findings,
    report, scores and neighbours, with no round trip through the browser between them (chained, the
    analysis was sent only once the browser had drawn the figure). It runs for each new record even while
    the last one's is pending (gradio's default, "once", dropped it: a second record kept the first one's
    panels); the last record's analysis stops by itself. The API endpoint is the load alone."""
    config = demo.get_config_file()
    elem_ids = {component["id"]: component.get("props", {}).get("elem_id") for component in config["components"]}
    trigger = LOADERS[loader]
    streamed = [dep for dep in dependencies if [(elem_ids.get(t[0]), t[1]) for t in dep["targets"]] == [trigger]
                and dep.get("backend_fn")]
    assert len(streamed) == 1, streamed
    event = streamed[0]
    assert event["types"]["generator"] and event["trigger_mode"] == "multiple" and len(event["outputs"]) >= 14
    assert event["api_visibility"] == "private" and event["trigger_after"] is None
    assert not [dep for dep in dependencies if dep.get("trigger_after") == event["id"] and dep.get("backend_fn")]
    api = next(dep for dep in dependencies if dep.get("api_name") == loader)
    assert api["id"] != event["id"] and len(api["outputs"]) == 3 and not api["types"]["generator"]
    assert not any(dep.get("cancels") for dep in dependencies)  # gradio's cancel is not relied on
