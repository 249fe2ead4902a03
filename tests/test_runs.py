"""Run folders: atomic writes, manifest, integrity on load."""

from __future__ import annotations

import os

import pytest

from seek import IntegrityError, RunError
from seek.io import atomic_write_bytes
from seek.runs import RunFolder, load_run, new_run_path


def test_new_run_path_is_app_then_utc_stamp_and_short_id(tmp_path):
    path = new_run_path(tmp_path, "quickstart-digits")
    assert path.parent == tmp_path / "quickstart-digits"
    stamp, short = path.name.split("-")
    assert stamp.endswith("Z") and len(stamp) == 16 and len(short) == 6


def test_failed_atomic_write_leaves_old_file_and_no_temp(tmp_path):
    target = tmp_path / "a.bin"
    atomic_write_bytes(target, b"old")

    class Boom(Exception):
        pass

    from seek.io import atomic_path

    with pytest.raises(Boom), atomic_path(target) as tmp:
        tmp.write_bytes(b"half")
        raise Boom
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["a.bin"]


def test_seal_lists_every_file_with_hash_and_size(seek_run_dir: RunFolder):
    seek_run_dir.write_json("metrics.json", {"a": 1.0})
    seek_run_dir.write_bytes("models/w.bin", b"\x00\x01")
    seek_run_dir.write_bytes("checkpoints/last.bin", b"changes while resumable")
    manifest = seek_run_dir.seal()
    assert set(manifest["files"]) == {"metrics.json", "models/w.bin"}
    assert manifest["files"]["models/w.bin"]["size"] == 2
    assert load_run(seek_run_dir.path).read_json("metrics.json") == {"a": 1.0}


def test_one_changed_byte_makes_loading_fail_naming_the_file(seek_run_dir: RunFolder):
    seek_run_dir.write_bytes("model.safetensors", b"abcdef")
    seek_run_dir.write_json("metrics.json", {"a": 1.0})
    seek_run_dir.seal()
    path = seek_run_dir.path / "model.safetensors"
    path.write_bytes(b"abcdeF")
    with pytest.raises(IntegrityError, match=r"model.safetensors: sha256 does not match manifest.json"):
        load_run(seek_run_dir.path)


def test_missing_artifact_and_missing_manifest_are_refused(seek_run_dir: RunFolder):
    with pytest.raises(RunError, match="no manifest.json"):
        load_run(seek_run_dir.path)
    seek_run_dir.write_bytes("x.bin", b"1")
    seek_run_dir.seal()
    (seek_run_dir.path / "x.bin").unlink()
    with pytest.raises(IntegrityError, match="x.bin: listed in manifest.json but missing"):
        load_run(seek_run_dir.path)


def test_out_pointing_at_a_file_or_full_folder_is_refused(tmp_path):
    file = tmp_path / "f"
    file.write_text("x")
    with pytest.raises(RunError, match="is a file, not a folder"):
        RunFolder(file)
    with pytest.raises(RunError, match="folder is not empty"):
        RunFolder(tmp_path)


def test_paths_cannot_escape_the_run_folder(seek_run_dir: RunFolder):
    with pytest.raises(RunError, match="escapes the run folder"):
        seek_run_dir.write_text("../outside.txt", "x")
