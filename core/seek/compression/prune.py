"""Structured pruning: attention heads and feed-forward units are physically removed, then a short fine-tune.

Importance per unit is ``l2`` (the norm of every weight the unit owns: its q/k/v rows and output
columns for a head; its up row, bias and down column for an FFN unit) or ``taylor`` (first-order
Taylor, sum of |w * dL/dw| over those weights, accumulated over a few training batches). In every
layer the ``amount`` share of heads and of FFN units with the lowest importance goes (at least one head
stays); the surviving rows and columns are copied into smaller Linears, so the residual width and every
dependent shape stays consistent. Masks are never used: the pruned model has fewer, smaller tensors.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import Tensor, nn

from seek.compression.architecture import PrunedSelfAttention, attention_modules
from seek.compression.data import CompressionData
from seek.errors import ConfigError, RunError
from seek.models.layers import FeedForward

Importance = Literal["l2", "taylor"]


@dataclass
class PruneSummary:
    """What pruning removed."""

    heads_before: int
    heads_after: int
    ffn_before: int
    ffn_after: int
    params_before: int
    params_after: int

    @property
    def channels_removed(self) -> float:
        """Share of prunable channels (head channels + FFN units) removed."""
        return 1 - (self.heads_after + self.ffn_after) / (self.heads_before + self.ffn_before)


def _score(weight: Tensor, importance: Importance) -> Tensor:
    if importance == "taylor":
        if weight.grad is None:
            return torch.zeros_like(weight)
        return (weight.detach() * weight.grad).abs()
    return weight.detach() ** 2


def _accumulate_gradients(model: nn.Module, data: CompressionData, batches: int = 8, batch_size: int = 64) -> None:
    from seek.training.losses import default_loss, model_head

    loss_fn = default_loss(model_head(model))
    model.train()
    model.zero_grad()
    n = len(data.train["x"])
    generator = torch.Generator().manual_seed(0)
    order = torch.randperm(n, generator=generator)
    for b in range(min(batches, math.ceil(n / batch_size))):
        idx = order[b * batch_size : (b + 1) * batch_size]
        batch = {k: v[idx] for k, v in data.train.items()}
        loss_fn(model(batch["x"], batch.get("mask")), batch).backward()
    model.eval()


def _prune_attention(module: Any, amount: float, importance: Importance, head_dim: int) -> PrunedSelfAttention:
    heads = module.num_heads
    hidden = module.qkv.in_features
    qkv = _score(module.qkv.weight, importance).view(3, heads, head_dim, hidden).sum(dim=(0, 2, 3))
    out = _score(module.out.weight, importance).view(hidden, heads, head_dim).sum(dim=(0, 2))
    keep_n = max(1, heads - round(amount * heads))
    keep = torch.sort(torch.topk(qkv + out, keep_n).indices).values
    bias = module.qkv.bias is not None  # bias-free blocks (SeekConfig.linear_bias=False) stay bias-free
    pruned = PrunedSelfAttention(hidden, keep_n, head_dim, module.dropout, bias)
    rows = (torch.arange(3)[:, None, None] * heads * head_dim + keep[None, :, None] * head_dim).add(
        torch.arange(head_dim)[None, None, :]
    )
    rows = rows.reshape(-1)
    cols = (keep[:, None] * head_dim + torch.arange(head_dim)[None, :]).reshape(-1)
    with torch.no_grad():
        pruned.qkv.weight.copy_(module.qkv.weight[rows])
        pruned.out.weight.copy_(module.out.weight[:, cols])
        if bias:
            pruned.qkv.bias.copy_(module.qkv.bias[rows])
            pruned.out.bias.copy_(module.out.bias)
    return pruned


def _prune_ffn(module: Any, amount: float, importance: Importance, dropout: float) -> FeedForward:
    width, hidden = module.up.weight.shape
    bias = module.up.bias is not None
    score = _score(module.up.weight, importance).sum(dim=1) + _score(module.down.weight, importance).sum(dim=0)
    if bias:
        score = score + _score(module.up.bias, importance)
    keep_n = max(1, width - round(amount * width))
    keep = torch.sort(torch.topk(score, keep_n).indices).values
    pruned = FeedForward(hidden, keep_n, dropout, bias)
    with torch.no_grad():
        pruned.up.weight.copy_(module.up.weight[keep])
        pruned.down.weight.copy_(module.down.weight[:, keep])
        if bias:
            pruned.up.bias.copy_(module.up.bias[keep])
            pruned.down.bias.copy_(module.down.bias)
    return pruned


def prune_structured(
    model: Any, data: CompressionData, amount: float = 0.2, importance: Importance = "taylor"
) -> tuple[Any, PruneSummary]:
    """Return a copy of the Seek ``model`` with ``amount`` of each layer's heads and FFN units removed."""
    from seek.compression.architecture import count_parameters

    if not 0 < amount < 1:
        raise ConfigError(f"--set amount={amount}: the share of channels to prune must lie in (0, 1)")
    pruned = copy.deepcopy(model).cpu()
    cfg = getattr(pruned, "config", None)
    attentions = attention_modules(pruned)
    ffns = {p: m for p, m in pruned.named_modules() if isinstance(m, FeedForward)}
    if cfg is None or not attentions or not ffns:
        raise RunError("--method prune: the model has no Seek attention or feed-forward layers to prune")
    if importance == "taylor":
        _accumulate_gradients(pruned, data)
    heads_before = sum(int(m.num_heads) for m in attentions.values())
    ffn_before = sum(m.up.out_features for m in ffns.values())
    params_before = count_parameters(pruned)
    for path, module in attentions.items():
        _set(pruned, path, _prune_attention(module, amount, importance, cfg.head_dim))
    for path, module in ffns.items():
        _set(pruned, path, _prune_ffn(module, amount, importance, cfg.dropout))
    pruned.zero_grad(set_to_none=True)
    after_att = attention_modules(pruned).values()
    after_ffn = [m for m in pruned.modules() if isinstance(m, FeedForward)]
    summary = PruneSummary(
        heads_before=heads_before * cfg.head_dim,
        heads_after=sum(int(m.num_heads) for m in after_att) * cfg.head_dim,
        ffn_before=ffn_before,
        ffn_after=sum(m.up.out_features for m in after_ffn),
        params_before=params_before,
        params_after=count_parameters(pruned),
    )
    return pruned.eval(), summary


def _set(model: nn.Module, path: str, new: nn.Module) -> None:
    parent_path, _, name = path.rpartition(".")
    setattr(model.get_submodule(parent_path) if parent_path else model, name, new)
