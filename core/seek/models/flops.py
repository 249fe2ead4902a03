"""FLOPs of a Seek model from its config (matrix multiplies only): forward, and forward + backward."""

from __future__ import annotations

from seek.models.config import SeekConfig


def _parts(config: SeekConfig, seq_len: int, batch_size: int) -> tuple[int, int, int]:
    """Forward FLOPs split as (projections and other matmuls, attention scores + mixing, input adapter)."""
    d, f, s = config.hidden_size, config.ffn_size, config.segment_size
    if config.uses_full_attention(seq_len):
        length = seq_len
        dense = 8 * length * d * d  # q, k, v, out projections
        core = 4 * length * length * d
    else:
        length = -(-seq_len // s) * s  # the model pads to whole segments
        n = length // s
        dense = (
            8 * length * d * d  # local q, k, v, out projections
            + 2 * n * d * d  # segment summary projection
            + 8 * n * d * d  # global q, k, v, out projections
            + 2 * d * d  # sequence branch projection
            + 2 * length * d * (3 + (-(3 * d + 3)) % 8)  # fusion gate, in the qkv matmul padded to 8 rows
            + 4 * length * d  # coarse branches mixed in by one batched (S, 2) @ (2, D) matmul per segment
        )
        core = 4 * length * s * d + 4 * n * n * d  # local scores + mixing inside segments; global across them
    ffn = 4 * length * d * f
    adapter = 2 * length * (config.input_dim or 0) * d if config.input_type == "dense" else 0
    head = 2 * length * d * config.num_outputs if config.head == "token" else 2 * d * d + 2 * d * config.num_outputs
    layers = config.num_layers
    return batch_size * (layers * (dense + ffn) + head), batch_size * layers * core, batch_size * adapter


def estimate_flops(config: SeekConfig, seq_len: int, batch_size: int = 1) -> int:
    """Return forward FLOPs (2 per multiply-add) for ``batch_size`` sequences of ``seq_len`` positions.

    Counts every matrix multiply (projections, attention scores and mixing, feed-forward, fusion,
    adapter, head); norms, softmax and element-wise ops are left out (a few percent).
    """
    matmul, core, adapter = _parts(config, seq_len, batch_size)
    return matmul + core + adapter


def training_flops(config: SeekConfig, seq_len: int, batch_size: int = 1) -> int:
    """FLOPs of one forward + backward, counted as ``torch.utils.flop_counter.FlopCounterMode`` does on a GPU.

    Every matmul costs 3x its forward (input and weight gradients); fused attention (flash or
    memory-efficient kernels) 3.5x, since the counter takes its backward as the recomputed scores plus
    four products; the dense input adapter 2x (its input needs no gradient); the fusion's coarse mix on
    a GPU as ``fusion._ScaleMix`` does it, three matmuls against all P padded coarse rows of a sequence
    (2 * L * P * D each) instead of the batched per-segment ones (4 * L * D, 3x). MFU is computed from this.
    """
    matmul, core, adapter = _parts(config, seq_len, batch_size)
    total = 3 * matmul + core * 7 // 2 + 2 * adapter
    if not config.uses_full_attention(seq_len):
        d, s = config.hidden_size, config.segment_size
        length = -(-seq_len // s) * s
        rows = length // s + 1 + (-(length // s + 1)) % 8
        total += batch_size * config.num_layers * (6 * length * rows * d - 12 * length * d)
    return total
