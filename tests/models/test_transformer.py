"""SeekTransformer forward pass: adapters, heads, padding masks, batching and gradients."""

from __future__ import annotations

import pytest
import torch

from seek.errors import DataError
from seek.models import SeekConfig, SeekTransformer

VOCAB, FEATURES = 50, 6


def make(input_type: str = "tokens", head: str = "token", attention: str = "hierarchical", **kw) -> SeekTransformer:
    """A tiny model with 8-token segments, so short test sequences span several segments."""
    cfg = SeekConfig.preset(
        "tiny",
        input_type=input_type,
        vocab_size=VOCAB if input_type == "tokens" else None,
        input_dim=FEATURES if input_type == "dense" else None,
        head=head,
        num_outputs=3,
        segment_size=8,
        attention=attention,
        **kw,
    )
    torch.manual_seed(0)
    return SeekTransformer(cfg)


def inputs(input_type: str, batch: int, length: int, seed: int = 1) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    if input_type == "tokens":
        return torch.randint(0, VOCAB, (batch, length), generator=gen)
    return torch.randn(batch, length, FEATURES, generator=gen)


def lengths_mask(lengths: list[int], length: int) -> torch.Tensor:
    return torch.arange(length)[None, :] < torch.tensor(lengths)[:, None]


BOTH_INPUTS = pytest.mark.parametrize("input_type", ["tokens", "dense"])
BOTH_ATTENTIONS = pytest.mark.parametrize("attention", ["hierarchical", "full"])


@BOTH_INPUTS
@pytest.mark.parametrize(("head", "shape"), [("classification", (4, 3)), ("regression", (4, 3)), ("token", (4, 29, 3))])
def test_each_head_returns_its_documented_shape(input_type: str, head: str, shape: tuple[int, ...]) -> None:
    model = make(input_type, head)
    out = model(inputs(input_type, 4, 29), lengths_mask([29, 20, 9, 1], 29))
    assert out.shape == shape
    assert torch.isfinite(out).all()


@BOTH_INPUTS
def test_encode_returns_hidden_states_at_input_length(input_type: str) -> None:
    model = make(input_type)
    assert model.encode(inputs(input_type, 2, 13)).shape == (2, 13, model.config.hidden_size)


@BOTH_INPUTS
@BOTH_ATTENTIONS
def test_padded_positions_never_influence_real_positions(input_type: str, attention: str) -> None:
    model = make(input_type, "token", attention).eval()
    x = inputs(input_type, 3, 37)
    mask = lengths_mask([37, 21, 5], 37)
    garbage = x.clone()
    pad = ~mask
    if input_type == "tokens":
        garbage[pad] = VOCAB - 1
    else:
        garbage[pad] = 1e4
    with torch.no_grad():
        a, b = model(x, mask), model(garbage, mask)
    torch.testing.assert_close(a[mask], b[mask], rtol=1e-5, atol=1e-5)
    assert not torch.equal(x, garbage)


@BOTH_INPUTS
@BOTH_ATTENTIONS
@pytest.mark.parametrize("head", ["classification", "token"])
def test_batch_of_one_equals_the_same_item_inside_a_padded_batch(input_type: str, attention: str, head: str) -> None:
    model = make(input_type, head, attention).eval()
    lengths = [40, 17, 8, 3]
    x = inputs(input_type, len(lengths), 40)
    mask = lengths_mask(lengths, 40)
    with torch.no_grad():
        batched = model(x, mask)
        for i, n in enumerate(lengths):
            alone = model(x[i : i + 1, :n])
            expected = batched[i : i + 1, :n] if head == "token" else batched[i : i + 1]
            torch.testing.assert_close(alone, expected, rtol=1e-5, atol=1e-6)


def test_token_head_outputs_zeros_at_padded_positions() -> None:
    model = make("dense", "token").eval()
    mask = lengths_mask([12, 4], 12)
    out = model(inputs("dense", 2, 12), mask)
    assert torch.equal(out[~mask], torch.zeros_like(out[~mask]))


@BOTH_INPUTS
@BOTH_ATTENTIONS
@pytest.mark.parametrize("head", ["classification", "regression", "token"])
def test_gradients_reach_every_parameter(input_type: str, attention: str, head: str) -> None:
    model = make(input_type, head, attention).train()
    mask = lengths_mask([30, 19, 30], 30)
    out = model(inputs(input_type, 3, 30), mask)
    target = torch.randn_like(out)
    ((out - target) ** 2).mean().backward()
    for name, param in model.named_parameters():
        assert param.grad is not None, name
        assert param.grad.abs().sum() > 0, name


def test_dense_and_token_models_differ_only_in_the_adapter() -> None:
    tokens, dense = make("tokens"), make("dense")
    assert tokens.adapter.embed.weight.shape == (VOCAB, tokens.config.hidden_size)
    assert dense.adapter.embed.weight.shape == (tokens.config.hidden_size, FEATURES)
    body = lambda m: {k: v.shape for k, v in m.state_dict().items() if not k.startswith("adapter.embed")}  # noqa: E731
    assert body(tokens) == body(dense)


def test_input_positions_are_encoded() -> None:
    model = make("tokens", "token").eval()
    same_token = torch.full((1, 16), 7)
    out = model(same_token)
    assert not torch.allclose(out[0, 0], out[0, 1])


def test_full_attention_baseline_has_same_width_and_depth() -> None:
    ours, full = make(), make(attention="full")
    assert len(ours.blocks) == len(full.blocks) == ours.config.num_layers
    assert full.blocks[0].ffn.up.weight.shape == ours.blocks[0].ffn.up.weight.shape


@pytest.mark.parametrize(
    ("input_type", "bad", "match"),
    [
        ("tokens", torch.zeros(2, 5), "integer dtype"),
        ("tokens", torch.full((2, 5), VOCAB), r"token ids must lie in \[0, 50\)"),
        ("dense", torch.zeros(2, 5, FEATURES + 1), f"length, {FEATURES}"),
        ("dense", torch.zeros(2, 2000, FEATURES), "exceeds max_len=1024"),
    ],
)
def test_bad_input_raises_data_error(input_type: str, bad: torch.Tensor, match: str) -> None:
    with pytest.raises(DataError, match=match):
        make(input_type)(bad)


def test_mask_of_wrong_shape_raises_data_error() -> None:
    with pytest.raises(DataError, match="mask shape"):
        make("dense")(inputs("dense", 2, 9), torch.ones(2, 8, dtype=torch.bool))


def test_bf16_autocast_forward_is_finite() -> None:
    model = make("dense", "classification")
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(inputs("dense", 2, 20), lengths_mask([20, 11], 20))
    assert torch.isfinite(out.float()).all()


def test_ten_thousand_token_document_runs_forward_with_small_preset() -> None:
    cfg = SeekConfig.preset("small", vocab_size=1000, head="classification")
    model = SeekTransformer(cfg).eval()
    with torch.no_grad():
        out = model(torch.randint(0, 1000, (1, 10_000)))
    assert out.shape == (1, 2) and torch.isfinite(out).all()
