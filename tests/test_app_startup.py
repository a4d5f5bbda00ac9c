"""The app serves its page while the model and library load in a background thread (ui.pending)."""
from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import gradio as gr
import pytest

from app_server import tiny_library_dir, tiny_model_dir
from ui.pending import Pending, settled


def test_a_pending_object_waits_then_forwards():
    pending = Pending("The model")
    threading.Timer(0.2, pending.resolve, args=("text",)).start()
    started = time.monotonic()
    assert pending.upper() == "TEXT" and time.monotonic() - started >= 0.15
    assert pending.ready and settled(pending, None) == ("text", None) and settled("plain", None) == ("plain", None)


def test_a_pending_object_that_failed_says_why_and_is_not_probed_by_copy_or_pickle():
    pending = Pending("The model")
    pending.resolve(None, "CheckpointError: model.safetensors: truncated")
    with pytest.raises(gr.Error, match="The model is not available: CheckpointError: model.safetensors: truncated"):
        pending.generate_report
    with pytest.raises(AttributeError):
        pending.__deepcopy__
    assert Pending("x").wait(timeout=0.01) == (None, None)


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    folder = tmp_path_factory.mktemp("startup")
    model_dir = tiny_model_dir(folder / "model")
    return model_dir, tiny_library_dir(folder / "library", model_dir)


def test_the_page_is_built_before_the_model_is_loaded_and_filled_in_after(folders):
    import app

    model_dir, library_dir = folders
    resources = app.start_resources(str(model_dir), str(library_dir), "fp32")
    assert isinstance(resources.model, Pending)
    demo = app.build_demo(resources)  # needs nothing of the model but its config.json
    config = demo.get_config_file()
    assert any(dep.get("targets") and dep["targets"][0][1] == "load" for dep in config["dependencies"])
    header, banner, about_text = app.page_texts(resources)  # waits for the background load
    assert banner == "" and "### Model" in about_text and "library of" in header
    assert resources.model.ready and "fingerprint" in app.describe(resources)


def test_a_model_folder_without_config_is_refused_at_once(tmp_path):
    import app

    with pytest.raises(SystemExit, match="no config.json"):
        app.start_resources(str(tmp_path), None)


def test_a_model_that_fails_to_load_is_named_on_the_page_without_server_paths(folders, tmp_path):
    import shutil

    import app

    broken = shutil.copytree(folders[0], tmp_path / "broken")
    (broken / "model.safetensors").write_bytes(b"not weights")
    resources = app.start_resources(str(broken), None, "fp32")
    _, banner, _ = app.page_texts(resources)
    assert "No model loaded" in banner and "model.safetensors" in banner and str(tmp_path) not in banner
    with pytest.raises(gr.Error, match="The model is not available"):
        resources.model.findings


def test_a_model_still_loading_preprocesses_as_the_loaded_model_will(tmp_path):
    """Fields a checkpoint's config leaves out take the model's defaults on both paths, not PreprocessConfig's."""
    import json

    import app
    from melp.config import MelpConfig

    (tmp_path / "config.json").write_text(json.dumps({"preprocess": {"fs": 100.0}}))
    loading = app.Resources(model=Pending("The model"), model_source=str(tmp_path), model_problem=None,
                            library=None, library_problem=None, examples=(), presets={})
    loaded = app.Resources(model=SimpleNamespace(config=MelpConfig(preprocess={"fs": 100.0})),
                           model_source=str(tmp_path), model_problem=None, library=None, library_problem=None,
                           examples=(), presets={})
    assert app._preprocess_config(loading) == app._preprocess_config(loaded)
    assert app._preprocess_config(loading).filter == "none" and app._preprocess_config(loading).fs == 100.0
