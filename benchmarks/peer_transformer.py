"""The peer: a plain PyTorch transformer of the Seek presets' width and depth, trained in a plain loop.

What a user would write without Seek, for the GPU efficiency comparison (issue 17): token embedding
plus sine positions, pre-norm blocks (LayerNorm, fused QKV projection, ``F.scaled_dot_product_attention``
over the whole sequence, output projection; LayerNorm, Linear 4x, SiLU, Linear), final LayerNorm, a
mean-pooled two-layer classification head like Seek's; fused AdamW, bf16 autocast, gradient clipping.
It imports nothing from Seek, so ``gpu_bench.py`` measures both in the same process and device call.

    python benchmarks/peer_transformer.py --preset large --seq 2048 --batch 8           # on a GPU
    python benchmarks/peer_transformer.py --device cpu --preset tiny --seq 64 --batch 2  # check on a CPU
"""

from __future__ import annotations

import argparse
import math
import time

import torch
import torch.nn.functional as F
from torch import Tensor, nn

# hidden, layers, heads of the Seek presets (core/seek/models/config.py)
SIZES = {"tiny": (32, 2, 2), "small": (256, 4, 4), "base": (768, 12, 12), "large": (1024, 24, 16), "xl": (1536, 24, 16)}


class PeerBlock(nn.Module):
    """Pre-norm block: full self-attention on SDPA, then a SiLU feed-forward, each residual."""

    def __init__(self, d: int, heads: int, dropout: float, lean: bool = False) -> None:
        super().__init__()
        self.heads, self.dropout = heads, dropout
        self.norm1, self.norm2 = (nn.LayerNorm(d, elementwise_affine=not lean) for _ in range(2))
        self.qkv, self.out = nn.Linear(d, 3 * d, bias=not lean), nn.Linear(d, d, bias=not lean)
        self.up, self.down = nn.Linear(d, 4 * d, bias=not lean), nn.Linear(4 * d, d, bias=not lean)
        self.drop = nn.Dropout(dropout)

    def forward(self, h: Tensor) -> Tensor:
        """Update ``h`` (B, L, D)."""
        b, length, d = h.shape
        q, k, v = self.qkv(self.norm1(h)).view(b, length, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=self.dropout if self.training else 0.0)
        h = h + self.drop(self.out(y.transpose(1, 2).reshape(b, length, d)))
        return h + self.drop(self.down(self.drop(F.silu(self.up(self.norm2(h))))))


class PeerTransformer(nn.Module):
    """Embedding + positions -> blocks -> LayerNorm -> mean pool -> Linear, SiLU, Linear.

    ``lean``: bias-free block linears and LayerNorms without gain and bias (blocks and the final one),
    the peer of Seek's ``linear_bias=False, norm_affine=False``.
    """

    def __init__(
        self, vocab: int, d: int, layers: int, heads: int, classes: int = 2, dropout: float = 0.0, lean: bool = False
    ) -> None:
        super().__init__()
        self.embed, self.norm_in = nn.Embedding(vocab, d), nn.LayerNorm(d)
        self.blocks = nn.ModuleList(PeerBlock(d, heads, dropout, lean) for _ in range(layers))
        self.norm = nn.LayerNorm(d, elementwise_affine=not lean)
        self.head = nn.Sequential(nn.Linear(d, d), nn.SiLU(), nn.Dropout(dropout), nn.Linear(d, classes))
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        """Logits (B, classes) for token ids ``x`` (B, L)."""
        h = self.embed(x)
        h = self.drop(self.norm_in(h + positions(h.shape[1], h.shape[2], h.device, h.dtype)))
        for block in self.blocks:
            h = block(h)
        return self.head(self.norm(h).mean(1))


def positions(length: int, dim: int, device: torch.device, dtype: torch.dtype) -> Tensor:
    """Sine/cosine position codes (length, dim)."""
    pos = torch.arange(length, device=device, dtype=torch.float32).unsqueeze(1)
    freq = torch.exp(torch.arange(0, dim, 2, device=device, dtype=torch.float32) * (-math.log(10000.0) / dim))
    return torch.cat([torch.sin(pos * freq), torch.cos(pos * freq)], dim=1).to(dtype)


def build(preset: str, vocab: int, dropout: float = 0.0, device: str = "cpu", lean: bool = False) -> PeerTransformer:
    """The peer of a Seek preset, its weights created on ``device``."""
    d, layers, heads = SIZES[preset]
    torch.manual_seed(0)
    with torch.device(device):
        return PeerTransformer(vocab, d, layers, heads, dropout=dropout, lean=lean)


def make_step(model: nn.Module, precision: str = "bf16", mode: str | None = None) -> tuple[object, object]:
    """(step(x, y), optimizer): one forward + backward + clipped fused AdamW step, no host sync.

    ``mode`` None is eager; otherwise each block is compiled in place with that torch.compile mode.
    """
    device = next(model.parameters()).device
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4, weight_decay=0.01, fused=device.type == "cuda")
    if mode is not None:
        for block in model.blocks:
            block.compile(mode=mode)
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32

    def step(x: Tensor, y: Tensor) -> Tensor:
        if mode in ("reduce-overhead", "max-autotune"):
            torch.compiler.cudagraph_mark_step_begin()
        with torch.autocast(device.type, dtype=dtype, enabled=precision == "bf16"):
            loss = F.cross_entropy(model(x).float(), y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return loss.detach()

    return step, optimizer


def main() -> None:
    """Time the peer alone (``gpu_bench.py`` runs it beside Seek)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="large", choices=list(SIZES))
    parser.add_argument("--seq", type=int, default=2048)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--device", default="cuda")
    parser.add_argument(
        "--compile", default=None, help="torch.compile mode (default, reduce-overhead); eager if absent"
    )
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()
    model = build(args.preset, 32_000, device=args.device).train()
    step, _ = make_step(model, "bf16", args.compile)
    x = torch.randint(0, 32_000, (args.batch, args.seq), device=args.device)
    y = torch.randint(0, 2, (args.batch,), device=args.device)
    for _ in range(3):
        step(x, y)
    if args.device.startswith("cuda"):
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(args.steps):
        step(x, y)
    if args.device.startswith("cuda"):
        torch.cuda.synchronize()
    ms = 1000 * (time.perf_counter() - start) / args.steps
    params = sum(p.numel() for p in model.parameters()) / 1e6
    print(f"peer {args.preset}: {params:.1f} M parameters, {ms:.1f} ms/step")


if __name__ == "__main__":
    main()
