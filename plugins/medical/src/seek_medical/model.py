"""The detector: a 3D U-shaped CNN with channel + spatial 3D attention, and its loss.

``NoduleNet3D`` maps a normalised CT patch (B, 1, D, H, W) to six maps at half resolution
(B, 6, D/2, H/2, W/2) — output stride 2, which keeps a CPU run in minutes: a nodule-centre heat-map
logit (candidates are its peaks), the offset from each output cell to the nodule centre (3, in cells),
the log nodule diameter (in input voxels), and a nodule-voxel logit (the probability map the CRF
refines at full resolution). Every encoder stage past the first ends with a CBAM-style 3D attention block:
channel attention (average- and max-pooled descriptors through a shared MLP) followed by spatial
attention (a 7^3 convolution over the channel-wise mean and max). Activations are Swish (SiLU), as in
the core Seek transformer. ``build`` is the artifact builder named in ``module.json``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

HEAT, OFFSET, SIZE, SEGMENT = 0, slice(1, 4), 4, 5
OUTPUTS = 6
#: Input voxels per output cell along each axis.
STRIDE = 2


class ChannelSpatialAttention3D(nn.Module):
    """CBAM in 3D: reweight channels, then voxels."""

    def __init__(self, channels: int, reduction: int = 4, kernel: int = 7) -> None:
        super().__init__()
        hidden = max(2, channels // reduction)
        self.mlp = nn.Sequential(nn.Conv3d(channels, hidden, 1), nn.SiLU(), nn.Conv3d(hidden, channels, 1))
        self.spatial = nn.Conv3d(2, 1, kernel, padding=kernel // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Attention-weighted features, same shape as ``x``."""
        avg = x.mean(dim=(2, 3, 4), keepdim=True)
        peak = x.amax(dim=(2, 3, 4), keepdim=True)
        x = x * torch.sigmoid(self.mlp(avg) + self.mlp(peak))
        pooled = torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)
        return x * torch.sigmoid(self.spatial(pooled))


class ResBlock3D(nn.Module):
    """Two 3^3 convolutions with group norm and Swish, a residual path, optional attention."""

    def __init__(self, channels_in: int, channels: int, stride: int = 1, attention: bool = False) -> None:
        super().__init__()
        groups = max(1, min(4, channels // 4))
        self.conv1 = nn.Conv3d(channels_in, channels, 3, stride=stride, padding=1, bias=False)
        self.norm1 = nn.GroupNorm(groups, channels)
        self.conv2 = nn.Conv3d(channels, channels, 3, padding=1, bias=False)
        self.norm2 = nn.GroupNorm(groups, channels)
        self.skip = (
            nn.Conv3d(channels_in, channels, 1, stride=stride, bias=False)
            if stride != 1 or channels_in != channels
            else nn.Identity()
        )
        self.attention = ChannelSpatialAttention3D(channels) if attention else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The block's output features."""
        y = F.silu(self.norm1(self.conv1(x)))
        y = self.attention(self.norm2(self.conv2(y)))
        return F.silu(y + self.skip(x))


class NoduleNet3D(nn.Module):
    """Encoder (``levels`` stride-2 stages with attention) + decoder back to full resolution + six output maps."""

    def __init__(self, width: int = 8, levels: int = 3, attention: bool = True) -> None:
        super().__init__()
        self.config: dict[str, Any] = {"width": width, "levels": levels, "attention": attention}
        widths = [width * 2**i for i in range(levels + 1)]
        self.stem = nn.Sequential(nn.Conv3d(1, widths[0], 4, stride=STRIDE, padding=1), nn.SiLU())
        self.first = ResBlock3D(widths[0], widths[0])
        self.down = nn.ModuleList(
            ResBlock3D(widths[i], widths[i + 1], stride=2, attention=attention) for i in range(levels)
        )
        self.up = nn.ModuleList(ResBlock3D(widths[i + 1] + widths[i], widths[i]) for i in reversed(range(levels)))
        self.head = nn.Sequential(
            nn.Conv3d(widths[0], widths[0], 3, padding=1), nn.SiLU(), nn.Conv3d(widths[0], OUTPUTS, 1)
        )
        with torch.no_grad():  # start from "no nodule anywhere", as focal-loss detectors do
            self.head[-1].bias.zero_()
            self.head[-1].bias[HEAT] = -4.0
            self.head[-1].bias[SEGMENT] = -4.0
            self.head[-1].bias[SIZE] = 1.5

    @property
    def multiple(self) -> int:
        """Input sides must be multiples of this."""
        return int(STRIDE * 2 ** self.config["levels"])

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """(B, 1, D, H, W) normalised HU -> (B, 6, D/2, H/2, W/2) maps (``mask`` is unused; the Trainer passes it)."""
        # channels-last 3D convolutions backpropagate about 10x faster on CPU (oneDNN) and use tensor cores on GPU
        skips = [self.first(self.stem(x.contiguous(memory_format=torch.channels_last_3d)))]
        for block in self.down:
            skips.append(block(skips[-1]))
        y = skips.pop()
        for block in self.up:
            skip = skips.pop()
            y = F.interpolate(y, size=skip.shape[2:], mode="trilinear", align_corners=False)
            y = block(torch.cat([y, skip], dim=1))
        return self.head(y)

    def num_parameters(self) -> int:
        """Trainable parameter count."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)


def build(width: int = 8, levels: int = 3, attention: bool = True) -> NoduleNet3D:
    """Artifact builder (``seek_medical.model:build``): the network for a saved config."""
    return NoduleNet3D(width=width, levels=levels, attention=attention).to(memory_format=torch.channels_last_3d)


# ---- training targets and loss --------------------------------------------------------------------------


def to_cells(boxes: torch.Tensor) -> torch.Tensor:
    """Boxes (k, j, i, d, valid) in input voxels -> centres in output cells (cell c spans voxels 2c and 2c+1)."""
    cells = boxes.clone()
    cells[..., :3] = (boxes[..., :3] + 0.5) / STRIDE - 0.5
    return cells


def from_cells(cells: torch.Tensor) -> torch.Tensor:
    """Output-cell coordinates -> input-voxel coordinates (the inverse of :func:`to_cells`)."""
    return (cells + 0.5) * STRIDE - 0.5


def targets(boxes: torch.Tensor, shape: tuple[int, int, int]) -> dict[str, torch.Tensor]:
    """Heat map, offsets, log size and the region they apply to on the output grid, from (B, K, 5) boxes
    (k, j, i, d, valid) in input voxels; the size target stays the log diameter in input voxels."""
    diameters = boxes[..., 3].clone()
    boxes = to_cells(boxes)
    boxes[..., 3] = diameters / STRIDE
    batch = boxes.shape[0]
    device = boxes.device
    grid = torch.stack(
        torch.meshgrid(*(torch.arange(n, device=device, dtype=torch.float32) for n in shape), indexing="ij")
    )  # (3, D, H, W)
    heat = torch.zeros((batch, *shape), device=device)
    offset = torch.zeros((batch, 3, *shape), device=device)
    size = torch.zeros((batch, *shape), device=device)
    region = torch.zeros((batch, *shape), device=device)
    best = torch.full((batch, *shape), float("inf"), device=device)
    for k in range(boxes.shape[1]):
        valid = boxes[:, k, 4] > 0
        if not bool(valid.any()):
            continue
        centre = boxes[:, k, :3].view(batch, 3, 1, 1, 1)
        radius = (boxes[:, k, 3] / 2).clamp(min=0.5).view(batch, 1, 1, 1)
        delta = centre - grid[None]
        distance2 = (delta**2).sum(dim=1)
        sigma = (radius / 2).clamp(min=0.75)
        gauss = torch.exp(-distance2 / (2 * sigma**2)) * valid.view(batch, 1, 1, 1)
        heat = torch.maximum(heat, gauss)
        # the voxel nearest to each centre is that nodule's one positive
        nearest = torch.zeros_like(gauss)
        index = boxes[:, k, :3].round().long()
        inside = valid & (index >= 0).all(dim=1) & (index < torch.tensor(shape, device=device)).all(dim=1)
        for b in torch.nonzero(inside).flatten().tolist():
            nearest[b, index[b, 0], index[b, 1], index[b, 2]] = 1.0
        heat = torch.maximum(heat, nearest)
        within = (distance2 <= (radius.clamp(min=1.0)) ** 2) & valid.view(batch, 1, 1, 1) & (distance2 < best)
        best = torch.where(within, distance2, best)
        offset = torch.where(within[:, None], delta, offset)
        log_d = torch.log((boxes[:, k, 3] * STRIDE).clamp(min=0.5)).view(batch, 1, 1, 1)
        size = torch.where(within, log_d.expand_as(size), size)
        region = torch.where(within, torch.ones_like(region), region)
    return {"heat": heat, "offset": offset, "size": size, "region": region}


def detection_loss(outputs: torch.Tensor, batch: dict[str, Any]) -> torch.Tensor:
    """Centre focal loss (CenterNet) + L1 offsets and log size near centres + BCE and soft Dice on nodule voxels."""
    outputs = outputs.float()
    target = targets(batch["boxes"].float(), tuple(outputs.shape[2:]))
    logit = outputs[:, HEAT]
    p = torch.sigmoid(logit).clamp(1e-4, 1 - 1e-4)
    positive = (target["heat"] >= 0.999).float()
    pos_loss = -(((1 - p) ** 2) * torch.log(p) * positive).sum()
    neg_loss = -(((1 - target["heat"]) ** 4) * (p**2) * torch.log(1 - p) * (1 - positive)).sum()
    focal = (pos_loss + neg_loss) / positive.sum().clamp(min=1.0)
    region = target["region"]
    count = region.sum().clamp(min=1.0)
    offset = (F.l1_loss(outputs[:, OFFSET], target["offset"], reduction="none").sum(1) * region).sum() / count
    size = (F.l1_loss(outputs[:, SIZE], target["size"], reduction="none") * region).sum() / count
    mask = F.avg_pool3d((batch["y"] > 0).float()[:, None], STRIDE)[:, 0]  # nodule share of each cell
    seg_logit = outputs[:, SEGMENT]
    # nodule cells are ~0.1% of a patch: weight them up or the map learns "never"
    bce = F.binary_cross_entropy_with_logits(seg_logit, mask, pos_weight=torch.tensor(20.0, device=mask.device))
    prob = torch.sigmoid(seg_logit)
    dice = 1 - (2 * (prob * mask).sum() + 1) / (prob.sum() + mask.sum() + 1)
    return focal + 0.5 * offset + size + bce + dice
