"""Build -> query round trips on a tiny overfit model: self-retrieval, text search, refusal, adds, threads."""
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import melp
from index import Library, LibraryMismatchError, add_records, build_library
from index_fixtures import N_RECORDS, overfit_tiny_model, report_of, write_ecg_folder
from tiny_melp import tiny_model

SHARD_SIZE = 3
BATCH_SIZE = 2
TOP_K = 3



@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("library")
    paths = write_ecg_folder(root / "ecgs")
    (root / "ecgs" / "notes.csv").write_text("not,an,ecg\n1,2,3\n")  # unreadable: skipped
    records = [melp.read_ecg(f"{path}.hea") for path in paths]
    model = overfit_tiny_model(records, [record.report for record in records])
    build_library(f"folder:{root / 'ecgs'}", root / "lib", model, shard_size=SHARD_SIZE, batch_size=BATCH_SIZE)
    return root, model, records


@pytest.fixture(scope="module")
def library(built):
    root, model, _ = built
    return Library.open(root / "lib", model)


def test_each_record_finds_itself_first(library, built):
    for row_id, record in enumerate(built[2]):
        hits = library.similar_ecgs(record, TOP_K)
        assert hits[0].row_id == row_id and hits[0].record_id == record.record_id
        assert hits[0].score == pytest.approx(1.0, abs=1e-4)


def test_unreadable_files_are_skipped_not_indexed(library):
    assert len(library) == N_RECORDS
    assert not any(str(path).endswith(".csv") for path in library.table()["source_path"])


def test_report_text_retrieves_its_ecg_in_top_k(library):
    for row_id in range(N_RECORDS):
        hits = library.ecgs_for_text(report_of(row_id), TOP_K)
        assert row_id in [hit.row_id for hit in hits]


def test_reports_for_an_ecg_include_its_own_report(library, built):
    for record in built[2]:
        hits = library.reports_for(record, TOP_K)
        assert record.report in [hit.report for hit in hits]
        assert all(hit.metadata["n_records_with_report"] == 1 for hit in hits)


def test_rows_are_plain_data_with_metadata(library):
    hit = library.ecgs_for_text(report_of(0), 1)[0]
    assert isinstance(hit.score, float) and isinstance(hit.labels, tuple)
    assert hit.metadata["age"] == 61.0 and hit.metadata["sex"] == "M" and hit.metadata["fs"] == 100.0


def test_record_is_read_back_from_its_source_file(library, built):
    record = library.record(2)
    np.testing.assert_array_equal(record.signal, built[2][2].signal)
    assert record.report == built[2][2].report


def test_concurrent_queries_match_sequential(library, built):
    records = built[2] * 3
    sequential = [[hit.row_id for hit in library.similar_ecgs(record, TOP_K)] for record in records]
    fresh = Library.open(library.folder, library.model)  # lazy loads race in the threads
    with ThreadPoolExecutor(max_workers=4) as pool:
        threaded = list(pool.map(lambda record: [hit.row_id for hit in fresh.similar_ecgs(record, TOP_K)], records))
    assert threaded == sequential


def test_library_of_another_model_is_refused_with_rebuild_command(library):
    with pytest.raises(LibraryMismatchError, match="python -m index.build --source folder:.* --force"):
        Library.open(library.folder, tiny_model(seed=1))


def test_force_opens_a_library_of_another_model(library, built):
    forced = Library.open(library.folder, tiny_model(seed=1), force=True)
    assert len(forced.similar_ecgs(built[2][0], TOP_K)) == TOP_K


def test_existing_library_is_not_overwritten_without_force(built):
    root, model, _ = built
    with pytest.raises(FileExistsError, match="--force"):
        build_library(f"folder:{root / 'ecgs'}", root / "lib", model)


def test_add_appends_new_records_and_skips_known_ones(built, tmp_path):
    root, model, _ = built
    build_library(f"folder:{root / 'ecgs'}", tmp_path / "lib", model, shard_size=SHARD_SIZE)
    write_ecg_folder(tmp_path / "more", n_records=2, first=N_RECORDS)
    add_records(tmp_path / "lib", f"folder:{tmp_path / 'more'}", model)
    manifest = add_records(tmp_path / "lib", f"folder:{root / 'ecgs'}", model)  # all already there
    grown = Library.open(tmp_path / "lib", model)
    assert manifest.n_records == len(grown) == N_RECORDS + 2
    assert grown.table()["record_id"].tolist() == [f"r{i:03d}" for i in range(N_RECORDS + 2)]
    new_record = melp.read_ecg(tmp_path / "more" / f"r{N_RECORDS:03d}.hea")
    assert grown.similar_ecgs(new_record, 1)[0].row_id == N_RECORDS
