"""Forward-pass FLOPs estimate of a Seek model from its config (matrix multiplies only)."""

from __future__ import annotations

from seek.models.config import SeekConfig


def estimate_flops(config: SeekConfig, seq_len: int, batch_size: int = 1) -> int:
    """Return forward FLOPs (2 per multiply-add) for ``batch_size`` sequences of ``seq_len`` positions.

    Counts every matrix multiply (projections, attention scores and mixing, feed-forward, adapter,
    head); norms, softmax and element-wise ops are left out (a few percent). A backward pass costs
    about twice the forward.
    """
    d, f, s = config.hidden_size, config.ffn_size, config.segment_size
    if config.attention == "hierarchical":
        length = -(-seq_len // s) * s  # the model pads to whole segments
        n = length // s
        attention = (
            8 * length * d * d  # local q, k, v, out projections
            + 4 * length * s * d  # local scores and mixing, inside segments
            + 2 * n * d * d  # segment summary projection
            + 8 * n * d * d  # global q, k, v, out projections
            + 4 * n * n * d  # global scores and mixing, across segments
            + 2 * d * d  # sequence branch projection
            + 2 * length * d * 3  # fusion gate
        )
    else:
        length = seq_len
        attention = 8 * length * d * d + 4 * length * length * d
    ffn = 4 * length * d * f
    adapter = 2 * length * (config.input_dim or 0) * d if config.input_type == "dense" else 0
    if config.head == "token":
        head = 2 * length * d * config.num_outputs
    else:
        head = 2 * d * d + 2 * d * config.num_outputs
    return batch_size * (adapter + config.num_layers * (attention + ffn) + head)
