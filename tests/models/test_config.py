"""SeekConfig: presets, overrides, validation errors and JSON round trip."""

from __future__ import annotations

import json

import pytest

from seek.errors import ConfigError
from seek.models import PRESETS, SeekConfig


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_builds_a_valid_config(name: str) -> None:
    cfg = SeekConfig.preset(name, vocab_size=100)
    assert cfg.hidden_size % cfg.num_heads == 0
    assert cfg.head_dim * cfg.num_heads == cfg.hidden_size


def test_production_presets_cover_the_guide_range() -> None:
    sizes = {name: (PRESETS[name]["hidden_size"], PRESETS[name]["num_heads"]) for name in ("base", "large", "xl")}
    assert sizes["large"] == (1024, 16)
    assert min(h for h, _ in sizes.values()) == 768 and max(h for h, _ in sizes.values()) == 1536
    assert all(8 <= heads <= 16 for _, heads in sizes.values())


@pytest.mark.parametrize("name", ["small", "base", "large", "xl"])
def test_gpu_presets_have_lean_blocks_and_tiny_keeps_biases_and_gains(name: str) -> None:
    lean = SeekConfig.preset(name, vocab_size=100)
    assert (lean.linear_bias, lean.norm_affine) == (False, False)
    tiny = SeekConfig.preset("tiny", vocab_size=100)
    assert (tiny.linear_bias, tiny.norm_affine) == (True, True)
    assert SeekConfig.preset(name, vocab_size=100, linear_bias=True).linear_bias  # an override still wins


def test_preset_overrides_apply() -> None:
    cfg = SeekConfig.preset("tiny", input_type="dense", input_dim=12, segment_size=8, head="regression", num_outputs=1)
    assert (cfg.input_type, cfg.input_dim, cfg.segment_size, cfg.head) == ("dense", 12, 8, "regression")


def test_hidden_not_divisible_by_heads_names_the_field() -> None:
    with pytest.raises(ConfigError, match="hidden_size.*not divisible by num_heads=2"):
        SeekConfig.preset("tiny", vocab_size=100, hidden_size=33)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"input_type": "tokens"}, "vocab_size"),
        ({"input_type": "dense"}, "input_dim"),
        ({"vocab_size": 100, "dropout": 1.5}, "dropout"),
        ({"vocab_size": 100, "hidden_size": "wide"}, "hidden_size"),
        ({"vocab_size": 100, "head": "ranking"}, "head"),
        ({"vocab_size": 100, "segment_size": 0}, "segment_size"),
        ({"vocab_size": 100, "colour": "blue"}, "colour"),
    ],
)
def test_bad_config_raises_one_line_config_error(overrides: dict, field: str) -> None:
    with pytest.raises(ConfigError) as info:
        SeekConfig.preset("tiny", **overrides)
    message = str(info.value)
    assert f"'{field}'" in message and "\n" not in message


def test_unknown_preset_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="unknown; choose one of tiny, small, base, large, xl"):
        SeekConfig.preset("huge", vocab_size=100)


def test_config_round_trips_through_json() -> None:
    cfg = SeekConfig.preset("small", input_type="dense", input_dim=7, head="token", num_outputs=5)
    again = SeekConfig(**json.loads(json.dumps(cfg.model_dump(mode="json"))))
    assert again == cfg


def test_replace_switches_to_the_full_attention_baseline_and_validates() -> None:
    cfg = SeekConfig.preset("tiny", vocab_size=100)
    assert cfg.replace(attention="full").attention == "full"
    with pytest.raises(ConfigError, match="num_heads"):
        cfg.replace(num_heads=3)
