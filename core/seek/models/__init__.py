"""Seek models: the hierarchical-attention, multi-scale-fusion transformer and its full-attention baseline.

from seek.models import SeekConfig, SeekTransformer
cfg = SeekConfig.preset("tiny", input_type="dense", input_dim=12, head="classification", num_outputs=2)
model = SeekTransformer(cfg)
out = model(x, mask)                     # mask (B, L) bool, True = real position
model.save(directory); SeekTransformer.load(directory)
baseline = SeekTransformer(cfg.replace(attention="full"))
"""

from seek.models.config import PRESETS, SeekConfig
from seek.models.flops import estimate_flops, training_flops
from seek.models.transformer import SeekTransformer

__all__ = ["PRESETS", "SeekConfig", "SeekTransformer", "estimate_flops", "training_flops"]
