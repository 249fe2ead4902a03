"""Structured pruning removes heads and FFN units for real."""

from __future__ import annotations

import pytest
import torch

from seek.artifacts import load_artifact
from seek.compression.architecture import PrunedSelfAttention, build, count_parameters, describe
from seek.compression.measure import outputs
from seek.compression.prune import prune_structured
from seek.errors import ConfigError
from seek.runs import load_run


@pytest.mark.slow
@pytest.mark.parametrize("importance", ["l2", "taylor"])
def test_pruned_model_has_fewer_parameters_and_smaller_weight_shapes(trained_run, digits_data, importance):
    model = load_artifact(load_run(trained_run), "classifier")
    pruned, summary = prune_structured(model, digits_data, 0.25, importance)
    assert count_parameters(pruned) < count_parameters(model)
    assert summary.channels_removed >= 0.2
    before, after = model.state_dict(), pruned.state_dict()
    assert before.keys() == after.keys()
    ffn_up = "blocks.0.ffn.up.weight"
    assert after[ffn_up].shape[0] == 192 and before[ffn_up].shape[0] == 256
    qkv = "blocks.1.attn.local.qkv.weight"
    assert after[qkv].shape == (3 * 3 * 16, 64) and before[qkv].shape == (3 * 64, 64)
    assert isinstance(pruned.blocks[1].attn.global_, PrunedSelfAttention)
    x, _ = digits_data.inputs()
    logits = outputs(pruned, x, None)
    assert logits.shape == (len(x), 10) and torch.isfinite(logits).all()
    # the JSON description rebuilds exactly these shapes (what the torch-module artifact relies on)
    rebuilt = build(**describe(pruned))
    rebuilt.load_state_dict(after)


def test_amount_outside_zero_one_is_refused(untrained_run):
    model = load_artifact(load_run(untrained_run), "classifier")
    with pytest.raises(ConfigError, match="amount"):
        prune_structured(model, None, 1.0)  # type: ignore[arg-type]


def test_a_bias_free_model_prunes_to_a_bias_free_model_that_rebuilds() -> None:
    from seek.models import SeekConfig, SeekTransformer

    cfg = SeekConfig.preset("tiny", input_type="dense", input_dim=6, head="classification", num_outputs=2,
                            linear_bias=False, norm_affine=False)  # fmt: skip
    model = SeekTransformer(cfg).eval()
    pruned, summary = prune_structured(model, None, 0.5, "l2")  # type: ignore[arg-type]
    assert summary.channels_removed > 0.3 and count_parameters(pruned) < count_parameters(model)
    state = pruned.state_dict()
    assert not [k for k in state if k.startswith("blocks.") and k.endswith(".bias")]
    x = torch.randn(3, 16, 6)
    assert torch.isfinite(pruned(x)).all()
    rebuilt = build(**describe(pruned))
    rebuilt.load_state_dict(state)
    torch.testing.assert_close(rebuilt(x), pruned(x))
