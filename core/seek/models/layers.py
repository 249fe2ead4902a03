"""Building blocks shared by every Seek model: positions, input adapters, feed-forward, output heads."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from seek.errors import DataError
from seek.models.attention import masked_mean
from seek.models.config import SeekConfig


def sinusoidal_positions(length: int, dim: int, device: torch.device, dtype: torch.dtype) -> Tensor:
    """Return fixed sine/cosine position codes (length, dim); no parameters, any length."""
    pos = torch.arange(length, device=device, dtype=torch.float32).unsqueeze(1)
    freq = torch.exp(torch.arange(0, dim, 2, device=device, dtype=torch.float32) * (-math.log(10000.0) / dim))
    codes = torch.zeros(length, dim, device=device, dtype=torch.float32)
    codes[:, 0::2] = torch.sin(pos * freq)
    codes[:, 1::2] = torch.cos(pos * freq[: dim // 2])
    return codes.to(dtype)


class InputAdapter(nn.Module):
    """Map token ids (B, L) or dense features (B, L, input_dim) to (B, L, hidden) with positions added."""

    def __init__(self, config: SeekConfig) -> None:
        super().__init__()
        self.input_type = config.input_type
        self.input_dim = config.input_dim
        self.vocab_size = config.vocab_size
        if config.input_type == "tokens":
            self.embed: nn.Module = nn.Embedding(config.vocab_size or 0, config.hidden_size)
        else:
            self.embed = nn.Linear(config.input_dim or 0, config.hidden_size)
        # Normalising after adding positions keeps token/feature scale and position scale comparable.
        self.norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.drop = nn.Dropout(config.dropout)

    def check(self, x: Tensor) -> None:
        """Raise DataError if ``x`` does not fit this adapter's input type."""
        if self.input_type == "tokens":
            if x.dim() != 2 or x.dtype not in (torch.int64, torch.int32):
                raise DataError(
                    f"model input: expected token ids of shape (batch, length) and integer dtype, "
                    f"got shape {tuple(x.shape)} dtype {x.dtype}"
                )
            # Checked on CPU only: on a GPU it would force a sync every step, and the embedding's
            # own device-side bounds check still stops a bad id there (as it does under torch.compile).
            eager_cpu = x.device.type == "cpu" and not torch.compiler.is_compiling()
            if eager_cpu and x.numel() and (int(x.min()) < 0 or int(x.max()) >= (self.vocab_size or 0)):
                raise DataError(
                    f"model input: token ids must lie in [0, {self.vocab_size}), "
                    f"got values in [{int(x.min())}, {int(x.max())}]"
                )
        elif x.dim() != 3 or x.shape[-1] != self.input_dim or not x.is_floating_point():
            raise DataError(
                f"model input: expected float features of shape (batch, length, {self.input_dim}), "
                f"got shape {tuple(x.shape)} dtype {x.dtype}"
            )

    def forward(self, x: Tensor) -> Tensor:
        """Embed ``x`` and add position codes."""
        h = self.embed(x)
        h = h + sinusoidal_positions(h.shape[1], h.shape[2], h.device, h.dtype)
        return self.drop(self.norm(h))


class FeedForward(nn.Module):
    """Position-wise Linear -> SiLU (Swish) -> dropout -> Linear."""

    def __init__(self, hidden_size: int, ffn_size: int, dropout: float, bias: bool = True) -> None:
        super().__init__()
        self.up = nn.Linear(hidden_size, ffn_size, bias=bias)
        self.act = nn.SiLU()
        self.drop = nn.Dropout(dropout)
        self.down = nn.Linear(ffn_size, hidden_size, bias=bias)

    def forward(self, x: Tensor) -> Tensor:
        """Apply the feed-forward layer to every position."""
        return self.down(self.drop(self.act(self.up(x))))


class OutputHead(nn.Module):
    """Pooled (classification/regression) or per-position (token) outputs."""

    def __init__(self, config: SeekConfig) -> None:
        super().__init__()
        self.kind = config.head
        d = config.hidden_size
        if self.kind == "token":
            self.proj: nn.Module = nn.Linear(d, config.num_outputs)
        else:
            self.proj = nn.Sequential(
                nn.Linear(d, d), nn.SiLU(), nn.Dropout(config.dropout), nn.Linear(d, config.num_outputs)
            )

    def forward(self, h: Tensor, valid: Tensor | None) -> Tensor:
        """Return (B, num_outputs) from the masked mean of ``h``, or (B, L, num_outputs) for the token head."""
        if self.kind == "token":
            out = self.proj(h)
            # Padded positions get exact zeros so a loss that forgets the mask is not fed noise.
            return out if valid is None else out.masked_fill(~valid.unsqueeze(-1), 0.0)
        return self.proj(masked_mean(h, valid, dim=1))
