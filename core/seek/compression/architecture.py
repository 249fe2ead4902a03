"""The one builder for compressed Seek models: pruned heads / FFN widths and INT8 linears, rebuilt from JSON.

A compressed model is saved as a ``torch-module`` artifact whose builder is :func:`build` and whose
config says what differs from the original Seek config (:func:`describe` writes it)::

    {"seek": {...SeekConfig...}, "heads": {"blocks.0.attn.local": 3}, "ffn": {"blocks.0.ffn": 204},
     "int8": {"backend": "torch.ao", "reduce_range": false, "layers": ["blocks.0.ffn.up", ...]}}

Every tensor of such a model is a plain tensor (INT8 weights as int8 + float32 per-row scales), so the
artifact is a safetensors file like any other; nothing is pickled.
"""

from __future__ import annotations

import platform
import warnings
from functools import cache
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seek.models import SeekConfig, SeekTransformer
from seek.models.attention import SelfAttention, pair_mask
from seek.models.layers import FeedForward

BUILDER = "seek.compression.architecture:build"
INT8_BACKENDS = ("torch.ao", "torchao")
#: CPU flags of the instructions that sum u8 x s8 products in 32 bits (without them fbgemm/oneDNN sum pairs in 16).
_VNNI_FLAGS = ("avx512_vnni", "avx_vnni", "amx_int8")


@cache
def int8_saturates() -> bool:
    """True on an x86 CPU without VNNI, where full 8-bit activations overflow the kernels' 16-bit pair sums.

    There ``torch.ops.quantized.linear_dynamic`` is wrong by 20-40% of the output range (measured on an
    AVX2-only AMD EPYC); 7-bit activations (``reduce_range``) keep it exact. An x86 CPU whose flags cannot be
    read counts as saturating: the safe side.
    """
    if platform.machine().lower() not in ("x86_64", "amd64", "i386", "i686"):
        return False
    try:
        flags = set(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        return True
    return not flags.intersection(_VNNI_FLAGS)


class PrunedSelfAttention(nn.Module):
    """Self-attention keeping ``num_heads`` heads of ``head_dim``: the inner width shrinks, the residual stays."""

    def __init__(self, hidden_size: int, num_heads: int, head_dim: int, dropout: float, bias: bool = True) -> None:
        super().__init__()
        self.num_heads, self.head_dim, self.dropout = num_heads, head_dim, dropout
        self.qkv = nn.Linear(hidden_size, 3 * num_heads * head_dim, bias=bias)
        self.out = nn.Linear(num_heads * head_dim, hidden_size, bias=bias)

    def forward(self, x: Tensor, valid: Tensor | None = None) -> Tensor:
        """Attend within each row of ``x`` (N, T, D); ``valid`` (N, T) marks real positions."""
        n, t, _ = x.shape
        q, k, v = self.qkv(x).view(n, t, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        mask = None if valid is None else pair_mask(valid)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=self.dropout if self.training else 0.0)
        out: Tensor = self.out(y.transpose(1, 2).reshape(n, t, self.num_heads * self.head_dim))
        return out


class Int8Linear(nn.Module):
    """A Linear with int8 weights (symmetric, one scale per output row) and dynamically quantized activations.

    The stored form (``weight_int8``, ``weight_scale``, ``bias``) is the same for every backend; after
    loading, the weights are packed for the backend's kernel: ``torch.ao`` (fbgemm's
    ``quantized::linear_dynamic``) or ``torchao`` (``quantize_`` with int8 dynamic activations).
    """

    weight_int8: Tensor
    weight_scale: Tensor
    bias: Tensor

    def __init__(self, in_features: int, out_features: int, backend: str = "torch.ao", reduce_range: bool = False):
        super().__init__()
        if backend not in INT8_BACKENDS:
            raise ValueError(f"Int8Linear: unknown backend {backend!r} (one of {', '.join(INT8_BACKENDS)})")
        self.in_features, self.out_features = in_features, out_features
        self.backend, self.reduce_range = backend, reduce_range
        self.register_buffer("weight_int8", torch.zeros(out_features, in_features, dtype=torch.int8))
        self.register_buffer("weight_scale", torch.ones(out_features, dtype=torch.float32))
        self.register_buffer("bias", torch.zeros(out_features, dtype=torch.float32))
        self._kernel: Any = None
        self.register_load_state_dict_post_hook(_repack)  # type: ignore[no-untyped-call]

    @classmethod
    def from_linear(cls, linear: nn.Linear, backend: str = "torch.ao", reduce_range: bool = False) -> Int8Linear:
        """Quantize ``linear``'s weights per output row (scale = max|w| / 127)."""
        layer = cls(linear.in_features, linear.out_features, backend, reduce_range)
        weight = linear.weight.detach().float().cpu()
        scale = (weight.abs().amax(dim=1) / 127.0).clamp(min=1e-12)
        layer.weight_int8.copy_(torch.round(weight / scale[:, None]).clamp(-127, 127).to(torch.int8))
        layer.weight_scale.copy_(scale)
        if linear.bias is not None:
            layer.bias.copy_(linear.bias.detach().float().cpu())
        layer.pack()
        return layer

    def dequantized(self) -> Tensor:
        """The float weights the int8 ones stand for."""
        return self.weight_int8.float() * self.weight_scale[:, None]

    def pack(self) -> None:
        """Prepare the backend's kernel from the stored int8 weights (called after every load)."""
        if self.backend == "torch.ao":
            zero = torch.zeros(self.out_features, dtype=torch.int64)
            with warnings.catch_warnings():  # qint8 tensors are how fbgemm's prepack takes weights; still supported
                warnings.simplefilter("ignore", UserWarning)
                qweight = torch._make_per_channel_quantized_tensor(
                    self.weight_int8, self.weight_scale.double(), zero, axis=0
                )
            self._kernel = torch.ops.quantized.linear_prepack(qweight, self.bias)
        else:
            from torchao.quantization import Int8DynamicActivationInt8WeightConfig, quantize_

            linear = nn.Linear(self.in_features, self.out_features)
            with torch.no_grad():
                linear.weight.copy_(self.dequantized())
                linear.bias.copy_(self.bias)
            quantize_(linear, Int8DynamicActivationInt8WeightConfig())
            self._kernel = (linear,)  # in a tuple: a child module would put torchao's tensors in the state dict

    def forward(self, x: Tensor) -> Tensor:
        """``x @ W.T + b`` with int8 weights; activations are quantized per call."""
        if self.backend == "torch.ao":
            # The CPU, not only the stored setting, decides: a model quantized on a VNNI machine may run on one without.
            seven_bit = self.reduce_range or int8_saturates()
            out: Tensor = torch.ops.quantized.linear_dynamic(x.float(), self._kernel, seven_bit)
            return out
        result: Tensor = self._kernel[0](x)
        return result

    def extra_repr(self) -> str:
        return f"in={self.in_features}, out={self.out_features}, backend={self.backend}"


def _repack(module: Int8Linear, _keys: Any) -> None:
    module.pack()


def build(
    seek: dict[str, Any],
    heads: dict[str, int] | None = None,
    ffn: dict[str, int] | None = None,
    int8: dict[str, Any] | None = None,
) -> SeekTransformer:
    """Rebuild a compressed Seek model's skeleton (weights come from its safetensors file)."""
    model = SeekTransformer(SeekConfig(**seek))
    cfg = model.config
    for path, kept in (heads or {}).items():
        attention = PrunedSelfAttention(cfg.hidden_size, int(kept), cfg.head_dim, cfg.dropout, cfg.linear_bias)
        _replace(model, path, attention)
    for path, width in (ffn or {}).items():
        _replace(model, path, FeedForward(cfg.hidden_size, int(width), cfg.dropout, cfg.linear_bias))
    if int8:
        for path in int8["layers"]:
            old: Any = model.get_submodule(path)
            _replace(model, path, Int8Linear(old.in_features, old.out_features, int8["backend"], int8["reduce_range"]))
    return model.eval()


def describe(model: SeekTransformer) -> dict[str, Any]:
    """The :func:`build` config that rebuilds ``model``'s shapes (what pruning and quantization changed)."""
    cfg = model.config
    heads: dict[str, int] = {}
    ffn: dict[str, int] = {}
    layers: list[str] = []
    backend: tuple[str, bool] | None = None
    module: Any
    for path, module in model.named_modules():
        if isinstance(module, PrunedSelfAttention):
            heads[path] = module.num_heads
        elif isinstance(module, FeedForward) and module.up.out_features != cfg.ffn_size:
            ffn[path] = module.up.out_features
        elif isinstance(module, Int8Linear):
            layers.append(path)
            backend = (module.backend, module.reduce_range)
    described: dict[str, Any] = {"seek": cfg.model_dump(mode="json"), "heads": heads, "ffn": ffn}
    if backend is not None:
        described["int8"] = {"backend": backend[0], "reduce_range": backend[1], "layers": layers}
    return described


def count_parameters(model: nn.Module) -> int:
    """Weights a model holds: its parameters plus the int8 weights and biases of quantized layers."""
    total = sum(p.numel() for p in model.parameters())
    for module in model.modules():
        if isinstance(module, Int8Linear):
            total += module.weight_int8.numel() + module.bias.numel()
    return total


def attention_modules(model: nn.Module) -> dict[str, Any]:
    """Path -> every self-attention module (original or pruned) of a Seek model."""
    return {p: m for p, m in model.named_modules() if isinstance(m, (SelfAttention, PrunedSelfAttention))}


def _replace(model: nn.Module, path: str, new: nn.Module) -> None:
    parent_path, _, name = path.rpartition(".")
    parent = model.get_submodule(parent_path) if parent_path else model
    setattr(parent, name, new)
