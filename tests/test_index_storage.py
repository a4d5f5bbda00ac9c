"""Resumable builds and atomic writes: a killed build resumes to the same library; a crashed write
leaves the previous library intact and openable."""
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest

import index.assemble
from index import Library, build_library
from index.assemble import ECG_INDEX_FILE
from index.manifest import Manifest
from index.storage import ShardStore
from melp.atomic import BACKUP_MARKER, TEMP_MARKER
from index_fixtures import write_ecg_folder
from tiny_melp import tiny_model

N_RECORDS = 7
SHARD_SIZE = 2  # 4 shards, the last one short
KILL_AFTER_SHARDS = 2


class SimulatedKill(RuntimeError):
    pass


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ecgs")
    write_ecg_folder(folder, N_RECORDS)
    return f"folder:{folder}"


@pytest.fixture(scope="module")
def model():
    return tiny_model(seed=0)


def _kill_after(n_shards):
    done = []

    def callback(shard):
        done.append(shard)
        if len(done) == n_shards:
            raise SimulatedKill(f"killed after shard {shard}")

    return callback


def _contents(folder, model):
    library = Library.open(folder, model)
    return library.table(), library.ecg_index().vectors(), library.report_index().vectors()


def test_killed_build_resumes_to_the_same_library(source, model, tmp_path):
    build_library(source, tmp_path / "whole", model, shard_size=SHARD_SIZE)
    with pytest.raises(SimulatedKill):
        build_library(source, tmp_path / "resumed", model, shard_size=SHARD_SIZE,
                      on_shard_done=_kill_after(KILL_AFTER_SHARDS))
    with pytest.raises(FileNotFoundError):
        Library.open(tmp_path / "resumed", model)  # nothing half-built opens
    embedded_on_resume = []
    build_library(source, tmp_path / "resumed", model, shard_size=SHARD_SIZE, on_shard_done=embedded_on_resume.append)
    assert embedded_on_resume == [2, 3]  # the first two shards were not embedded again
    whole, resumed = _contents(tmp_path / "whole", model), _contents(tmp_path / "resumed", model)
    pd.testing.assert_frame_equal(whole[0], resumed[0])
    np.testing.assert_array_equal(whole[1], resumed[1])
    np.testing.assert_array_equal(whole[2], resumed[2])
    assert not ShardStore.for_target(tmp_path / "resumed").folder.exists()  # work folder cleaned up


def test_changed_settings_restart_an_interrupted_build(source, model, tmp_path):
    with pytest.raises(SimulatedKill):
        build_library(source, tmp_path / "lib", model, shard_size=SHARD_SIZE, on_shard_done=_kill_after(1))
    embedded = []
    build_library(source, tmp_path / "lib", model, shard_size=SHARD_SIZE + 1, on_shard_done=embedded.append)
    assert embedded == [0, 1, 2]


def test_crash_mid_write_keeps_the_previous_library(source, model, tmp_path, monkeypatch):
    build_library(source, tmp_path / "lib", model)
    before = Library.open(tmp_path / "lib", model).table()

    def crash(*_args, **_kwargs):
        raise SimulatedKill("power cut while writing the manifest")

    monkeypatch.setattr(index.assemble, "write_bytes_atomic", crash)
    with pytest.raises(SimulatedKill):
        build_library(source, tmp_path / "lib", model, force=True)
    leftovers = list(tmp_path.glob(f"lib{TEMP_MARKER}*"))
    assert leftovers and all(not (folder / "manifest.json").exists() for folder in leftovers)
    pd.testing.assert_frame_equal(Library.open(tmp_path / "lib", model).table(), before)
    monkeypatch.undo()
    build_library(source, tmp_path / "lib", model, force=True)
    assert not list(tmp_path.glob(f"lib{TEMP_MARKER}*"))  # the next write cleans up


def test_swap_interrupted_between_renames_restores_the_old_library(source, model, tmp_path):
    build_library(source, tmp_path / "lib", model)
    os.rename(tmp_path / "lib", tmp_path / f"lib{BACKUP_MARKER}1234")  # the state right after the first rename
    assert len(Library.open(tmp_path / "lib", model)) == N_RECORDS


def test_truncated_index_file_refuses_to_open(source, model, tmp_path):
    build_library(source, tmp_path / "lib", model)
    index_file = tmp_path / "lib" / ECG_INDEX_FILE
    index_file.write_bytes(index_file.read_bytes()[:100])
    with pytest.raises(ValueError, match="rebuild"):
        Library.open(tmp_path / "lib", model)


def test_manifest_records_model_counts_and_versions(source, model, tmp_path):
    build_library(source, tmp_path / "lib", model)
    manifest = Manifest.read(tmp_path / "lib")
    assert manifest.n_records == N_RECORDS and manifest.n_reports == N_RECORDS
    assert manifest.embed_dim == model.config.embed_dim and manifest.ecg_index.kind == "flat_ip"
    assert set(manifest.versions) >= {"melp", "faiss", "numpy"} and manifest.created


def test_two_ranks_split_the_shards_and_rank_zero_merges_the_same_library(source, model, tmp_path):
    build_library(source, tmp_path / "single", model, shard_size=SHARD_SIZE)
    by_rank = {0: [], 1: []}
    with ThreadPoolExecutor(max_workers=1) as pool:  # rank 1 runs beside rank 0, as under torchrun
        other = pool.submit(build_library, source, tmp_path / "ranked", model, shard_size=SHARD_SIZE,
                            on_shard_done=by_rank[1].append, rank=1, world=2)
        build_library(source, tmp_path / "ranked", model, shard_size=SHARD_SIZE, on_shard_done=by_rank[0].append,
                      rank=0, world=2)
        assert other.result() is None  # only rank 0 writes
    assert by_rank == {0: [0, 2], 1: [1, 3]}
    single, ranked = _contents(tmp_path / "single", model), _contents(tmp_path / "ranked", model)
    pd.testing.assert_frame_equal(single[0], ranked[0])
    np.testing.assert_array_equal(single[1], ranked[1])
