"""Run folders: atomic writes, manifest, integrity on load."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

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
    with pytest.raises(RunError, match=r"no manifest\.json"):
        load_run(seek_run_dir.path)
    seek_run_dir.write_bytes("x.bin", b"1")
    seek_run_dir.seal()
    (seek_run_dir.path / "x.bin").unlink()
    with pytest.raises(IntegrityError, match=r"x\.bin: listed in manifest\.json but missing"):
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


def _sealed(folder: RunFolder) -> RunFolder:
    folder.write_json("metrics.json", {"a": 1.0})
    folder.write_bytes("model/w.bin", b"weights")
    folder.seal()
    return folder


def test_symlinked_artifact_folder_or_extra_link_is_refused_naming_it(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "w.bin").write_bytes(b"weights")
    cases = {
        "artifact": lambda run: ((run / "model/w.bin").unlink(), (run / "model/w.bin").symlink_to(outside / "w.bin")),
        "folder": lambda run: (
            (run / "model/w.bin").unlink(),
            (run / "model").rmdir(),
            (run / "model").symlink_to(outside),
        ),
        "extra": lambda run: (run / "passwd").symlink_to("/etc/passwd"),
    }
    for name, tamper in cases.items():
        folder = _sealed(RunFolder(tmp_path / name))
        tamper(folder.path)
        with pytest.raises(IntegrityError, match=r"is a symlink \(to .*\); run folders may only hold regular files"):
            load_run(folder.path)


@pytest.mark.parametrize("entry", ["../../../../etc/hostname", "/etc/hostname", "model/../../x", ""])
def test_manifest_entry_leaving_the_folder_is_refused_naming_it(seek_run_dir: RunFolder, entry):
    manifest = _sealed(seek_run_dir).seal()
    manifest["files"][entry] = {"sha256": "0" * 64, "size": 1}
    (seek_run_dir.path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IntegrityError, match=rf"{re.escape(repr(entry))}: path escapes the run folder"):
        load_run(seek_run_dir.path)


@pytest.mark.parametrize(
    "text", ['{"format": 1, "files": {"a": {"sha256"', '{"format": 1}', '{"files": {"a": 3}}', "[]", "\xff\xfe"]
)
def test_truncated_or_misshapen_manifest_is_one_integrity_error(seek_run_dir: RunFolder, text):
    _sealed(seek_run_dir)
    (seek_run_dir.path / "manifest.json").write_bytes(text.encode("latin-1"))
    with pytest.raises(IntegrityError, match=r"manifest\.json: "):
        load_run(seek_run_dir.path)


def test_files_are_hashed_once_at_open_and_again_only_when_they_change(seek_run_dir: RunFolder, monkeypatch):
    import seek.runs

    _sealed(seek_run_dir)
    calls: list[str] = []
    real = seek.runs.sha256_file
    monkeypatch.setattr(seek.runs, "sha256_file", lambda path: calls.append(Path(path).name) or real(path))
    run = load_run(seek_run_dir.path)
    assert sorted(calls) == ["metrics.json", "w.bin"]
    for _ in range(3):
        run.file("model/w.bin")
        assert run.metrics == {"a": 1.0}
    assert len(calls) == 2
    target = seek_run_dir.path / "model/w.bin"
    target.write_bytes(b"WEIGHTS")
    os.utime(target, ns=(1, 1))
    with pytest.raises(IntegrityError, match=r"w\.bin: sha256 does not match"):
        run.file("model/w.bin")
    assert len(calls) == 3


def test_writes_refuse_a_symlink_inside_the_folder(seek_run_dir: RunFolder, tmp_path):
    (seek_run_dir.path / "model").symlink_to(tmp_path)
    with pytest.raises(RunError, match="model: is a symlink"):
        seek_run_dir.write_bytes("model/w.bin", b"x")
    with pytest.raises(RunError, match="escapes the run folder"):
        seek_run_dir.write_text("/tmp/abs.txt", "x")


def test_temp_files_of_a_killed_write_are_removed_on_resume_and_seal_and_never_listed(tmp_path):
    folder = RunFolder(tmp_path / "run")
    folder.write_json("metrics.json", {"a": 1.0})
    leftovers = [".manifest.json.k3j2.tmp", "checkpoints/.last.safetensors.x1.tmp", "model/w.bin.tmp"]
    for name in leftovers:
        (folder.path / name).parent.mkdir(parents=True, exist_ok=True)
        (folder.path / name).write_bytes(b"half")
    resumed = RunFolder(folder.path, resume=True)
    assert not any((folder.path / name).exists() for name in leftovers)
    (folder.path / ".report.md.z9.tmp").write_text("half")
    manifest = resumed.seal()
    assert list(manifest["files"]) == ["metrics.json"]
    assert not (folder.path / ".report.md.z9.tmp").exists()
    assert resumed.clean_temp() == []
