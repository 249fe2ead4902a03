"""Method chains and options of seek compress."""

from __future__ import annotations

import pytest

from seek.compression.chain import _expand
from seek.compression.options import CompressOptions, parse_methods
from seek.config import resolve_config
from seek.errors import ConfigError


def test_the_issue_chain_is_accepted_and_ends_in_onnxruntime_int8():
    methods = parse_methods("prune,distill,quantize,onnx")
    assert methods == ["prune", "distill", "quantize", "onnx"]
    assert _expand(methods) == ["prune", "distill", "quantize", "onnx", "onnx-quantize"]
    assert _expand(["onnx", "quantize"]) == ["onnx", "onnx-quantize"]
    assert _expand(["quantize"]) == ["quantize"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("shrink", "unknown"),
        ("prune,prune", "appears twice"),
        ("quantize,prune", "prune after quantize"),
        ("onnx,distill", "distill after onnx"),
        ("", "at least one"),
    ],
)
def test_bad_chains_are_refused_in_one_line(text, message):
    with pytest.raises(ConfigError, match=message) as info:
        parse_methods(text)
    assert "\n" not in str(info.value)


def test_unknown_option_is_a_config_error_naming_it():
    with pytest.raises(ConfigError, match="amount_of_pruning"):
        resolve_config(CompressOptions, overrides=["amount_of_pruning=0.3"])
    assert resolve_config(CompressOptions, overrides=["amount=0.3"]).amount == 0.3
