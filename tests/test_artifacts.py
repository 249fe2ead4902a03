"""Model artifacts: recorded by kind and role, sealed in the manifest, loaded by one loader."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from seek.artifacts import ArtifactWriter, artifacts, load_artifact
from seek.errors import IntegrityError, RunError
from seek.models import SeekConfig, SeekTransformer
from seek.runs import RunFolder, load_run


def build_net(width: int) -> torch.nn.Module:
    """A builder the torch-module kind can import by name."""
    return torch.nn.Sequential(torch.nn.Linear(3, width), torch.nn.ReLU(), torch.nn.Linear(width, 1))


def _sealed(tmp_path: Path) -> tuple[Path, torch.nn.Module, SeekTransformer]:
    run = RunFolder(tmp_path / "run")
    writer = ArtifactWriter(run)
    torch.manual_seed(0)
    net = build_net(4)
    seek_model = SeekTransformer(
        SeekConfig.preset("tiny", input_type="dense", input_dim=3, head="classification", num_outputs=2, max_len=8)
    )
    writer.save_seek_model("sequence", seek_model)
    writer.save_module("head", net, builder=f"{__name__}:build_net", config={"width": 4})
    run.write_json("scaler.json", {"mean": [0.0, 1.0]})
    writer.record("scaler", "json", "scaler.json")
    run.seal()
    return run.path, net, seek_model


def test_every_artifact_is_in_the_manifest_by_kind_and_role(tmp_path):
    path, _, _ = _sealed(tmp_path)
    found = artifacts(load_run(path))
    assert {role: a.kind for role, a in found.items()} == {
        "head": "torch-module",
        "scaler": "json",
        "sequence": "seek-transformer",
    }
    manifest = json.loads((path / "manifest.json").read_text())
    for art in found.values():
        assert set(art.files) <= set(manifest["files"])


def test_the_loader_returns_models_that_compute_what_was_saved(tmp_path):
    path, net, seek_model = _sealed(tmp_path)
    run = load_run(path)
    x = torch.randn(2, 3)
    assert torch.equal(load_artifact(run, "head")(x), net.eval()(x))
    seq = torch.randn(2, 8, 3)
    assert torch.allclose(load_artifact(run, "sequence")(seq), seek_model.eval()(seq))
    assert load_artifact(run, "scaler") == {"mean": [0.0, 1.0]}


def test_an_unknown_role_names_the_known_ones(tmp_path):
    path, _, _ = _sealed(tmp_path)
    with pytest.raises(RunError, match="no artifact with role 'model' .artifacts: head, scaler, sequence"):
        load_artifact(load_run(path), "model")


def test_a_tampered_weights_file_is_refused(tmp_path):
    path, _, _ = _sealed(tmp_path)
    weights = path / "head" / "weights.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match="weights.safetensors"):
        load_artifact(load_run(path), "head")


def test_an_artifact_path_leaving_the_folder_is_refused(tmp_path):
    path, _, _ = _sealed(tmp_path)
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["artifacts"]["scaler"]["files"] = ["../../etc/hostname"]
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IntegrityError):
        artifacts(load_run(path))


def test_a_builder_that_does_not_import_fails_when_saving(tmp_path):
    writer = ArtifactWriter(RunFolder(tmp_path / "run"))
    with pytest.raises(RunError, match="cannot be imported"):
        writer.save_module("head", build_net(2), builder="no_such_package.model:build", config={})


def test_a_resumed_writer_keeps_what_was_recorded(tmp_path):
    run = RunFolder(tmp_path / "run")
    run.write_json("a.json", {})
    ArtifactWriter(run).record("a", "json", "a.json")
    again = ArtifactWriter(RunFolder(tmp_path / "run", resume=True))
    assert set(again.records) == {"a"}
