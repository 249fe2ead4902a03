"""Regional compilation: blocks compiled in place, names kept, no graph breaks in the Seek model."""

from __future__ import annotations

import torch

from seek.models import SeekConfig, SeekTransformer
from seek.training.compiling import compile_blocks


def tiny() -> SeekTransformer:
    cfg = SeekConfig.preset("tiny", vocab_size=50, head="classification", num_outputs=2, segment_size=8)
    torch.manual_seed(0)
    return SeekTransformer(cfg)


def test_each_block_is_compiled_in_place_and_parameter_names_stay() -> None:
    model = tiny()
    names = list(model.state_dict())
    assert compile_blocks(model) == ["blocks.0", "blocks.1"]
    assert list(model.state_dict()) == names
    assert all(block._compiled_call_impl is not None for block in model.blocks)


def test_a_model_without_a_layer_list_is_compiled_whole() -> None:
    model = torch.nn.Sequential(torch.nn.Linear(3, 3))
    assert compile_blocks(model) == [""]
    assert model._compiled_call_impl is not None


def test_the_seek_model_traces_without_graph_breaks() -> None:
    model = tiny().train()
    x = torch.randint(0, 50, (2, 30))
    mask = torch.arange(30)[None, :] < torch.tensor([[30], [11]])
    for args in ((x,), (x, mask)):
        explained = torch._dynamo.explain(model)(*args)
        assert explained.graph_break_count == 0, explained.break_reasons
    h = torch.randn(2, 32, 32)
    for full in (False, True):
        assert torch._dynamo.explain(model.blocks[0])(h, None, full).graph_break_count == 0
