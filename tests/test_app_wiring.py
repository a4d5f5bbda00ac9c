"""How the app chains its events, read from the built gradio config (no server, no browser)."""
from __future__ import annotations

import pytest

from app_server import tiny_library_dir, tiny_model_dir

LOADERS = ("load_record", "load_example", "open_neighbour", "set_window")


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


def _chained_after(dependencies, root: int) -> list[dict]:
    """Every dependency triggered, directly or through others, by dependency ``root``."""
    found, frontier = [], [root]
    while frontier:
        parent = frontier.pop()
        children = [dep for dep in dependencies if dep.get("trigger_after") == parent]
        found += children
        frontier += [dep["id"] for dep in children]
    return found


@pytest.mark.parametrize("loader", LOADERS)
def test_a_load_sets_the_slider_and_streams_one_analysis(dependencies, loader):
    """After a load, the window slider is set and the analysis runs as one streaming event
    (ui.record_analysis), side by side; both run for each new record even while the last one's are
    pending (gradio's default, "once", dropped them: a second record kept the first one's panels). The
    last record's analysis stops by itself."""
    root = next(dep for dep in dependencies if dep.get("api_name") == loader)
    chained = [dep for dep in _chained_after(dependencies, root["id"]) if dep.get("backend_fn")]
    assert len(chained) == 2 and {dep["trigger_mode"] for dep in chained} == {"multiple"}
    slider, analysed = sorted(chained, key=lambda dep: len(dep["outputs"]))
    assert slider["trigger_after"] == root["id"] and analysed["trigger_after"] == root["id"]
    assert analysed["types"]["generator"] and len(analysed["outputs"]) >= 10
    assert not any(dep.get("cancels") for dep in dependencies)  # gradio's cancel is not relied on
