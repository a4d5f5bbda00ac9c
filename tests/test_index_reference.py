"""A library's reference set: written atomically, read back as the model's embeddings, kept by adds, and the
library's own ECGs when it has none."""
import json

import numpy as np
import pytest

from index import Library, add_records, build_library
from index.manifest import MANIFEST_FILE, Manifest
from index.reference import REFERENCE_FILE, add_reference, write_reference
from index.sources import simulate
from index_fixtures import write_ecg_folder
from melp.prompt_reading import percentile
from tiny_melp import tiny_model

REFERENCE_SOURCE = "simulated:11:6"


@pytest.fixture(scope="module")
def model():
    return tiny_model(0).eval()


@pytest.fixture()
def library_dir(model, tmp_path):
    write_ecg_folder(tmp_path / "ecgs", n_records=4)
    build_library(f"folder:{tmp_path / 'ecgs'}", tmp_path / "lib", model, shard_size=2, batch_size=2)
    return tmp_path / "lib"


def test_without_a_reference_set_the_library_ranks_against_its_own_ecgs(model, library_dir):
    library = Library.open(library_dir, model)
    assert library.manifest.reference is None
    np.testing.assert_array_equal(library.reference_vectors(), library.ecg_index().vectors())
    assert "library's 4 ECGs" in library.reference_description()


def test_reference_set_holds_the_models_embeddings_of_the_source(model, library_dir):
    manifest = add_reference(library_dir, REFERENCE_SOURCE, model, batch_size=4)
    library = Library.open(library_dir, model)
    expected = model.encode_ecg([simulate(11, i) for i in range(6)])  # (6, D)
    assert manifest.reference.count == 6 and manifest.reference.source == REFERENCE_SOURCE
    assert library.reference_vectors().shape == expected.shape
    np.testing.assert_allclose(library.reference_vectors(), expected, atol=2e-3)  # stored as float16
    assert "6 reference ECGs" in library.reference_description()
    assert len(library) == 4  # the rows people browse are unchanged


def test_float16_storage_moves_percentiles_by_a_hair(model, library_dir):
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((2000, 32)).astype(np.float32)  # spread like trained embeddings, not a tiny model's
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    write_reference(library_dir, vectors, "random")
    stored = Library.open(library_dir, model).reference_vectors()
    texts = vectors[rng.choice(len(vectors), 20)] + 0.5 * rng.standard_normal((20, 32)).astype(np.float32)
    moves = [abs(percentile(score, vectors @ text) - percentile(score, stored @ text))
             for text in texts for score in vectors[:50] @ text]
    assert max(moves) < 0.11  # two of 2,000 reference ECGs at most change side


def test_a_truncated_reference_file_is_refused_on_open(model, library_dir):
    add_reference(library_dir, REFERENCE_SOURCE, model)
    path = library_dir / REFERENCE_FILE
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(ValueError, match="reference_vectors.npy: expected"):
        Library.open(library_dir, model)


def test_vectors_of_another_size_are_refused_and_the_library_is_untouched(library_dir):
    before = (library_dir / MANIFEST_FILE).read_text()
    with pytest.raises(ValueError, match="do not fit"):
        write_reference(library_dir, np.zeros((3, 5), np.float32), "x")
    assert (library_dir / MANIFEST_FILE).read_text() == before
    assert not (library_dir / REFERENCE_FILE).exists()


def test_adding_records_keeps_the_reference_set_in_the_same_swap(model, library_dir, tmp_path, monkeypatch):
    """One folder swap: no moment in which the grown library lacks its reference set."""
    import index.assemble
    import index.reference
    import melp.atomic

    add_reference(library_dir, REFERENCE_SOURCE, model)
    kept = Library.open(library_dir, model).reference_vectors()
    write_ecg_folder(tmp_path / "more", n_records=2, first=4)
    swaps = []

    def counted(*args, **kwargs):
        swaps.append(args[1])
        return melp.atomic.replace_folder(*args, **kwargs)

    for module in (index.assemble, index.reference):  # every way a library folder is swapped in
        monkeypatch.setattr(module, "replace_folder", counted)
    manifest = add_records(library_dir, f"folder:{tmp_path / 'more'}", model)
    grown = Library.open(library_dir, model)
    assert manifest.n_records == len(grown) == 6 and manifest.reference.count == 6 and len(swaps) == 1
    np.testing.assert_array_equal(grown.reference_vectors(), kept)


def test_a_manifest_written_before_reference_sets_still_opens(library_dir):
    payload = json.loads((library_dir / MANIFEST_FILE).read_text())
    payload.pop("reference")
    assert Manifest.from_dict(payload).reference is None


def test_an_interrupted_reference_embedding_resumes_where_it_stopped(model, library_dir, monkeypatch):
    import index.reference as reference

    monkeypatch.setattr(reference, "CHUNK_RECORDS", 2)  # 6 records: three resumable chunks
    encode, calls = model.encode_ecg, []

    def killed_on_the_second_chunk(records, **kwargs):
        calls.append(len(records))
        if len(calls) == 2:
            raise KeyboardInterrupt("killed")
        return encode(records, **kwargs)

    monkeypatch.setattr(model, "encode_ecg", killed_on_the_second_chunk)
    with pytest.raises(KeyboardInterrupt):
        add_reference(library_dir, REFERENCE_SOURCE, model, batch_size=4)
    work = library_dir.with_name(library_dir.name + reference.WORK_SUFFIX)
    assert work.is_dir() and Library.open(library_dir, model).manifest.reference is None  # library untouched

    calls.clear()
    monkeypatch.setattr(model, "encode_ecg", lambda records, **kwargs: calls.append(len(records)) or encode(records, **kwargs))
    manifest = add_reference(library_dir, REFERENCE_SOURCE, model, batch_size=4)
    assert calls == [2, 2]  # the first chunk was read back, not embedded again
    assert manifest.reference.count == 6 and not work.exists()
    expected = encode([simulate(11, i) for i in range(6)])
    np.testing.assert_allclose(Library.open(library_dir, model).reference_vectors(), expected, atol=2e-3)
