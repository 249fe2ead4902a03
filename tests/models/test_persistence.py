"""SeekTransformer.save/load: safetensors + JSON, bit-identical round trip, readable refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from seek.errors import ConfigError, DataError, IntegrityError
from seek.io import atomic_write_json, sha256_file
from seek.models import SeekConfig, SeekTransformer


@pytest.fixture
def model() -> SeekTransformer:
    torch.manual_seed(0)
    cfg = SeekConfig.preset("tiny", input_type="dense", input_dim=4, head="token", num_outputs=2, segment_size=8)
    net = SeekTransformer(cfg)
    with torch.no_grad():  # move every weight off its init so a skipped tensor would show
        for p in net.parameters():
            p.add_(0.01 * torch.randn_like(p))
    return net.eval()


@pytest.fixture
def saved(model: SeekTransformer, tmp_path: Path) -> Path:
    return model.save(tmp_path / "model")


@pytest.mark.parametrize("attention", ["hierarchical", "full"])
def test_round_trip_is_bit_identical(model: SeekTransformer, tmp_path: Path, attention: str) -> None:
    if attention == "full":
        torch.manual_seed(1)
        model = SeekTransformer(model.config.replace(attention="full")).eval()
    loaded = SeekTransformer.load(model.save(tmp_path / attention))
    assert loaded.config == model.config
    assert not loaded.training
    original, again = model.state_dict(), loaded.state_dict()
    assert original.keys() == again.keys()
    assert all(torch.equal(original[k], again[k]) and original[k].dtype == again[k].dtype for k in original)
    x = torch.randn(2, 21, 4)
    mask = torch.arange(21)[None, :] < torch.tensor([[21], [13]])
    with torch.no_grad():
        assert torch.equal(model(x, mask), loaded(x, mask))


def test_save_writes_only_safetensors_and_json(saved: Path) -> None:
    from safetensors import safe_open

    assert sorted(p.name for p in saved.iterdir()) == ["model.json", "model.safetensors"]
    meta = json.loads((saved / "model.json").read_text())
    assert meta["format"] == "seek-transformer" and meta["config"]["input_dim"] == 4
    assert meta["weights_sha256"] == sha256_file(saved / "model.safetensors")
    with safe_open(str(saved / "model.safetensors"), framework="pt") as f:
        assert "head.proj.weight" in set(f.keys())


def test_load_refuses_a_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"model\.json: model config file is missing"):
        SeekTransformer.load(tmp_path / "nowhere")


def test_load_refuses_missing_weights(saved: Path) -> None:
    (saved / "model.safetensors").unlink()
    with pytest.raises(DataError, match="model weights file is missing"):
        SeekTransformer.load(saved)


def test_load_refuses_weights_changed_after_saving(saved: Path) -> None:
    path = saved / "model.safetensors"
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match="sha256 does not match"):
        SeekTransformer.load(saved)


def test_load_refuses_a_file_that_is_not_safetensors(saved: Path) -> None:
    path = saved / "model.safetensors"
    path.write_bytes(b"\x80\x04 this is not a safetensors file")
    meta = json.loads((saved / "model.json").read_text())
    atomic_write_json(saved / "model.json", {**meta, "weights_sha256": sha256_file(path)})
    with pytest.raises(DataError, match="not a readable safetensors file"):
        SeekTransformer.load(saved)


def test_load_refuses_corrupt_json(saved: Path) -> None:
    (saved / "model.json").write_text("{not json")
    with pytest.raises(DataError, match=r"model\.json: not valid JSON"):
        SeekTransformer.load(saved)


def test_load_refuses_a_config_that_does_not_validate(saved: Path) -> None:
    meta = json.loads((saved / "model.json").read_text())
    meta["config"]["num_heads"] = 3
    atomic_write_json(saved / "model.json", meta)
    with pytest.raises(ConfigError, match=r"model\.json: .*num_heads=3"):
        SeekTransformer.load(saved)


def test_load_refuses_weights_that_do_not_fit_the_config(saved: Path) -> None:
    meta = json.loads((saved / "model.json").read_text())
    meta["config"]["input_dim"] = 5
    atomic_write_json(saved / "model.json", meta)
    needs = r"tensor 'adapter\.embed\.weight' has shape \(32, 4\), the config needs \(32, 5\)"
    with pytest.raises(DataError, match=needs):
        SeekTransformer.load(saved)


def test_a_format_version_1_model_loads_without_the_full_attention_switch(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = SeekTransformer(SeekConfig.preset("small", vocab_size=30, num_layers=1, full_attention_below=0)).eval()
    directory = model.save(tmp_path / "v1")
    meta = json.loads((directory / "model.json").read_text())
    del meta["config"]["full_attention_below"]  # what a file written before the switch existed holds
    meta["format_version"] = 1
    atomic_write_json(directory / "model.json", meta)
    loaded = SeekTransformer.load(directory)
    assert loaded.config.full_attention_below == 0  # not the small preset's 8192: it computes as it did
    x = torch.randint(0, 30, (1, 100))
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x))


def test_a_lean_model_round_trips_and_an_older_file_loads_with_its_biases(tmp_path: Path) -> None:
    torch.manual_seed(0)
    cfg = SeekConfig.preset("tiny", vocab_size=30, linear_bias=False, norm_affine=False)
    lean = SeekTransformer(cfg).eval()
    loaded = SeekTransformer.load(lean.save(tmp_path / "lean"))
    assert not loaded.config.linear_bias and not loaded.config.norm_affine
    x = torch.randint(0, 30, (2, 40))
    with torch.no_grad():
        assert torch.equal(loaded(x), lean(x))
    plain = SeekTransformer(SeekConfig.preset("tiny", vocab_size=30)).eval()
    directory = plain.save(tmp_path / "older")
    meta = json.loads((directory / "model.json").read_text())
    del meta["config"]["linear_bias"], meta["config"]["norm_affine"]  # a file from before the two options
    atomic_write_json(directory / "model.json", meta)
    older = SeekTransformer.load(directory)
    assert older.blocks[0].ffn.up.bias is not None and older.norm.weight is not None
    with torch.no_grad():
        assert torch.equal(older(x), plain(x))
