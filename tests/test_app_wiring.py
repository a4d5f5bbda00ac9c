"""How the app chains its events, read from the built gradio config (no server, no browser)."""
from __future__ import annotations

import pytest

from app_server import tiny_library_dir, tiny_model_dir

LOADERS = ("load_record", "load_example", "open_neighbour", "set_window")


@pytest.fixture(scope="module")
def dependencies(tmp_path_factory):
    import app

    folder = tmp_path_factory.mktemp("wiring")
    model_dir = tiny_model_dir(folder / "model")
    library_dir = tiny_library_dir(folder / "library", model_dir)
    demo = app.build_demo(app.load_resources(str(model_dir), str(library_dir), "fp32"))
    return demo.get_config_file()["dependencies"]


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
def test_what_a_load_starts_runs_for_the_latest_record_even_if_the_last_one_is_still_running(dependencies, loader):
    """gradio's default ("once") drops a trigger while the same event is pending: a second record loaded
    quickly kept the first record's findings, report and slider. Every step after a load must be
    "always_last" (the one that empties the upload box runs in the browser and has nothing pending)."""
    root = next(dep for dep in dependencies if dep.get("api_name") == loader)
    chained = [dep for dep in _chained_after(dependencies, root["id"]) if dep.get("backend_fn")]
    assert len(chained) >= 5  # findings, report, redraw, scores, neighbours (and the slider after a new record)
    assert {dep["trigger_mode"] for dep in chained} == {"always_last"}


@pytest.mark.parametrize("loader", LOADERS)
def test_a_new_record_cancels_what_is_left_of_the_last_ones_analysis(dependencies, loader):
    """Otherwise a report finishing after the new record loaded wrote the old record back into the session."""
    root = next(dep for dep in dependencies if dep.get("api_name") == loader)
    cancellers = [dep for dep in dependencies if dep.get("cancels") and dep["targets"] == root["targets"]]
    assert len(cancellers) == 1
    every_chain = {dep["id"] for other in LOADERS
                   for dep in _chained_after(dependencies, next(d for d in dependencies if d.get("api_name") == other)["id"])
                   if dep.get("backend_fn")}
    assert every_chain <= set(cancellers[0]["cancels"])
    assert root["id"] not in cancellers[0]["cancels"]
