"""melp.atomic: a file is replaced whole or left as it was, and no temporary is left behind."""
from __future__ import annotations

import pytest

from melp.atomic import replacing, write_bytes_atomic, write_text_atomic


@pytest.mark.parametrize("durable", [False, True])
def test_writes_replace_the_file_exactly_and_leave_nothing_beside_it(tmp_path, durable):
    path = tmp_path / "log.csv"
    path.write_text("old\n")
    write_text_atomic(path, "a,b\r\nünïcode\n", durable=durable)
    assert path.read_bytes() == "a,b\r\nünïcode\n".encode("utf-8")  # no newline translation
    write_bytes_atomic(path, b"\x00\x01", durable=durable)
    assert path.read_bytes() == b"\x00\x01"
    assert [p.name for p in tmp_path.iterdir()] == ["log.csv"]


def test_a_failed_write_keeps_the_old_file_and_removes_its_temporary(tmp_path):
    path = tmp_path / "manifest.json"
    path.write_text('{"complete": true}')
    with pytest.raises(RuntimeError, match="killed"):
        with replacing(path) as tmp:
            tmp.write_text('{"compl')
            assert tmp.parent == path.parent and tmp.name.startswith(".manifest.json.tmp-")
            raise RuntimeError("killed mid-write")
    assert path.read_text() == '{"complete": true}'
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.json"]


def test_a_new_file_appears_only_when_the_block_ends(tmp_path):
    path = tmp_path / "new.bin"
    with replacing(path) as tmp:
        tmp.write_bytes(b"data")
        assert not path.exists()
    assert path.read_bytes() == b"data"


def test_the_next_checkpoint_save_or_load_removes_temporaries_of_killed_saves(tmp_path):
    from train.checkpointing import load_checkpoint, save_checkpoint

    path = tmp_path / "checkpoint.pt"
    leftovers = [tmp_path / ".checkpoint.pt.tmp-dead0001", tmp_path / ".checkpoint.pt.tmp-dead0002"]
    for leftover in leftovers:
        leftover.write_bytes(b"partial")
    save_checkpoint(path, {"step": 1}, step=1)
    assert not any(leftover.exists() for leftover in leftovers)
    leftovers[0].write_bytes(b"partial")
    assert load_checkpoint(path)["step"] == 1 and not leftovers[0].exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.pt"]
