import json

import pytest

from deliberate.provenance import content_hash, is_complete, read_manifest, stage_output, write_manifest


def test_stage_output_is_atomic(tmp_path):
    final = tmp_path / "stage"
    with pytest.raises(RuntimeError):
        with stage_output(final) as tmp:
            (tmp / "half.txt").write_text("x")
            raise RuntimeError("killed")
    assert not final.exists() and not list(tmp_path.iterdir())


def test_manifest_and_completion(tmp_path):
    parent = tmp_path / "parent"
    with stage_output(parent) as tmp:
        (tmp / "a.txt").write_text("a")
        write_manifest(tmp, stage="p", config_hash="h0", record_count=1)
    child = tmp_path / "child"
    with stage_output(child) as tmp:
        (tmp / "b.txt").write_text("b")
        m = write_manifest(tmp, stage="c", config_hash="h1", parents=[parent], record_count=1)
    assert m["content_hash"] == content_hash(child)
    assert read_manifest(child)["parents"][0]["content_hash"] == read_manifest(parent)["content_hash"]
    assert is_complete(child, "h1", [parent])
    assert not is_complete(child, "other-config", [parent])
    # a changed parent invalidates the child
    (parent / "a.txt").write_text("changed")
    m = json.loads((parent / "manifest.json").read_text())
    m["content_hash"] = content_hash(parent)
    (parent / "manifest.json").write_text(json.dumps(m))
    assert not is_complete(child, "h1", [parent])


def test_content_hash_sees_one_byte(tmp_path):
    (tmp_path / "f").write_bytes(b"abc")
    h = content_hash(tmp_path)
    (tmp_path / "f").write_bytes(b"abd")
    assert content_hash(tmp_path) != h
