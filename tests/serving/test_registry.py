"""The model registry: versions with source run and sha256, refusing unverifiable runs, rollback."""

from __future__ import annotations

import shutil

import pytest

from seek.errors import IntegrityError, RunError
from seek.io import sha256_file
from seek.serving.registry import Registry

APP = "quickstart-digits"


def test_promote_records_version_source_and_manifest_sha256(tmp_path, digits_run):
    registry = Registry(tmp_path)
    first = registry.promote(digits_run)
    copy = shutil.copytree(digits_run, tmp_path / "copy")
    second = registry.promote(copy)
    assert (first.version, second.version) == (1, 2)
    assert first.app == APP and first.run == str(digits_run.resolve())
    assert first.sha256 == sha256_file(digits_run / "manifest.json")
    assert registry.current(APP) == second
    assert [v.version for v in registry.versions(APP)] == [1, 2]


def test_a_run_whose_files_changed_is_refused(tmp_path, digits_run):
    tampered = shutil.copytree(digits_run, tmp_path / "tampered")
    (tampered / "metrics.json").write_text('{"test_accuracy": 1.0}')
    with pytest.raises(IntegrityError, match="sha256 does not match"):
        Registry(tmp_path).promote(tampered)
    assert Registry(tmp_path).current(APP) is None


def test_an_unfinished_folder_is_refused(tmp_path):
    (tmp_path / "half").mkdir()
    with pytest.raises(RunError, match="not a finished run folder"):
        Registry(tmp_path).promote(tmp_path / "half")


def test_rollback_returns_to_the_previous_version_and_stops_at_the_first(tmp_path, digits_run):
    registry = Registry(tmp_path)
    registry.promote(digits_run)
    registry.promote(shutil.copytree(digits_run, tmp_path / "b"))
    registry.promote(shutil.copytree(digits_run, tmp_path / "c"))
    assert registry.rollback(APP).version == 2
    assert registry.rollback(APP).version == 1
    with pytest.raises(RunError, match="no earlier version"):
        registry.rollback(APP)


def test_verify_refuses_a_promoted_run_changed_afterwards(tmp_path, digits_run):
    copy = shutil.copytree(digits_run, tmp_path / "c")
    version = Registry(tmp_path).promote(copy)
    (copy / "manifest.json").write_text((copy / "manifest.json").read_text() + " ")
    with pytest.raises(IntegrityError, match="changed since promotion"):
        Registry(tmp_path).verify(version)


def test_cli_promote_list_rollback(seek_plugins, tmp_path, digits_run):
    root = tmp_path / "root"
    copy = shutil.copytree(digits_run, tmp_path / "c")
    assert seek_plugins.invoke("models", "promote", str(digits_run), "--root", str(root)).exit_code == 0
    assert seek_plugins.invoke("models", "promote", str(copy), "--root", str(root)).exit_code == 0
    listed = seek_plugins.invoke("models", "list", "--json", "--root", str(root))
    assert '"current": true' in listed.output and '"version": 2' in listed.output
    back = seek_plugins.invoke("models", "rollback", APP, "--root", str(root))
    assert back.exit_code == 0 and "back to v1" in back.output
    bad = seek_plugins.invoke("models", "promote", str(tmp_path / "nope"), "--root", str(root))
    assert bad.exit_code == 1 and bad.output.startswith("error: ") and bad.output.count("\n") == 1
