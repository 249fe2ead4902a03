"""SeekTransformer: adapter -> blocks -> norm -> head, with save/load as safetensors + JSON config."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from seek.errors import ConfigError, DataError, IntegrityError
from seek.io import atomic_path, atomic_write_json, sha256_file
from seek.models.attention import pad_to_segments
from seek.models.blocks import FullAttentionBlock, SeekBlock, block_norm
from seek.models.config import SeekConfig
from seek.models.flops import estimate_flops, training_flops
from seek.models.layers import InputAdapter, OutputHead

WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "model.json"
FORMAT = "seek-transformer"
FORMAT_VERSION = 2
# Version 1 files predate ``full_attention_below``: they load with it at 0, which is how they computed.
READABLE_VERSIONS = (1, 2)


class SeekTransformer(nn.Module):
    """Transformer for long sequences of token ids or feature vectors.

    ``config.attention='hierarchical'`` (default) gives the Seek model: segment-local plus global
    attention fused across token/segment/sequence scales, cost about linear in length.
    ``config.attention='full'`` gives a plain full-attention transformer of the same width and
    depth, sharing adapter, feed-forward and head: the baseline in the benchmarks.
    """

    def __init__(self, config: SeekConfig) -> None:
        super().__init__()
        self.config = config
        self.adapter = InputAdapter(config)
        block = SeekBlock if config.attention == "hierarchical" else FullAttentionBlock
        self.blocks = nn.ModuleList(block(config) for _ in range(config.num_layers))
        self.norm = block_norm(config)
        self.head = OutputHead(config)

    def _check(self, x: Tensor, mask: Tensor | None) -> Tensor | None:
        """Validate the input and return the mask as bool (or None)."""
        self.adapter.check(x)
        b, length = x.shape[:2]
        if length == 0:
            raise DataError("model input: sequence length is 0")
        if length > self.config.max_len:
            raise DataError(
                f"model input: sequence length {length} exceeds max_len={self.config.max_len} of the model config"
            )
        if mask is None:
            return None
        if tuple(mask.shape) != (b, length):
            raise DataError(
                f"model input: mask shape {tuple(mask.shape)} does not match input (batch, length) = {(b, length)}"
            )
        return mask.to(device=x.device, dtype=torch.bool)

    def _hidden(self, x: Tensor, mask: Tensor | None) -> tuple[Tensor, Tensor | None]:
        """Run adapter and blocks; return final-normed states and mask, both padded to whole segments."""
        valid = self._check(x, mask)
        full = self.config.uses_full_attention(x.shape[1])
        if not full:
            x, valid = pad_to_segments(x, valid, self.config.segment_size)
        h = self.adapter(x)
        for block in self.blocks:
            h = block(h, valid, full)
        return self.norm(h), valid

    def encode(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        """Return the final hidden states (B, L, hidden_size), for models that bring their own head."""
        length = x.shape[1]
        h, _ = self._hidden(x, mask)
        return h[:, :length]

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        """Return (B, num_outputs), or (B, L, num_outputs) for the token head; ``mask`` (B, L) True = real."""
        length = x.shape[1]
        h, valid = self._hidden(x, mask)
        out = self.head(h, valid)
        return out[:, :length] if self.config.head == "token" else out

    def num_parameters(self, trainable_only: bool = False) -> int:
        """Return the number of parameters (only those requiring grad if ``trainable_only``)."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable_only)

    def flops(self, seq_len: int, batch_size: int = 1) -> int:
        """Return an estimate of forward FLOPs for ``batch_size`` sequences of ``seq_len`` positions."""
        return estimate_flops(self.config, seq_len, batch_size)

    def training_flops(self, seq_len: int, batch_size: int = 1) -> int:
        """Return forward + backward FLOPs as FlopCounterMode counts them on a GPU (the MFU numerator)."""
        return training_flops(self.config, seq_len, batch_size)

    def save(self, directory: str | os.PathLike[str]) -> Path:
        """Write model.safetensors and model.json (config + weights sha256) atomically into ``directory``."""
        from safetensors.torch import save_file

        directory = Path(directory)
        state = {name: t.detach().contiguous().cpu() for name, t in self.state_dict().items()}
        weights = directory / WEIGHTS_FILE
        with atomic_path(weights) as tmp:
            save_file(state, str(tmp), metadata={"format": FORMAT})
        # The JSON goes last: a directory with a model.json always has the weights it describes.
        atomic_write_json(
            directory / CONFIG_FILE,
            {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "config": self.config.model_dump(mode="json"),
                "weights_sha256": sha256_file(weights),
            },
        )
        return directory

    @classmethod
    def load(cls, directory: str | os.PathLike[str], device: str | torch.device = "cpu") -> SeekTransformer:
        """Rebuild a model written by :meth:`save`, in eval mode; refuses missing, corrupt or mismatched files."""
        from safetensors.torch import load_file

        directory = Path(directory)
        config_path, weights_path = directory / CONFIG_FILE, directory / WEIGHTS_FILE
        meta = _read_meta(config_path)
        if not weights_path.is_file():
            raise DataError(f"{weights_path}: model weights file is missing")
        if sha256_file(weights_path) != meta.get("weights_sha256"):
            raise IntegrityError(f"{weights_path}: sha256 does not match the one recorded in {config_path}")
        values = dict(meta["config"])
        if meta["format_version"] == 1:
            values.setdefault("full_attention_below", 0)
        try:
            config = SeekConfig(**values)
        except ConfigError as exc:
            raise ConfigError(f"{config_path}: {exc}") from None
        try:
            state = load_file(str(weights_path), device="cpu")
        except Exception as exc:  # noqa: BLE001 - safetensors raises its own error types for malformed files
            raise DataError(f"{weights_path}: not a readable safetensors file ({exc})") from None
        model = cls(config)
        _load_state(model, state, weights_path)
        return model.to(device).eval()


def _read_meta(path: Path) -> dict[str, Any]:
    """Read and check model.json; raise a one-line error naming the file."""
    if not path.is_file():
        raise DataError(f"{path}: model config file is missing (expected a directory written by SeekTransformer.save)")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or not isinstance(meta.get("config"), dict):
        raise DataError(f"{path}: not a Seek model config (field 'format' must be '{FORMAT}' and 'config' an object)")
    if meta.get("format_version") not in READABLE_VERSIONS:
        found = meta.get("format_version")
        readable = " or ".join(map(str, READABLE_VERSIONS))
        raise DataError(f"{path}: field 'format_version' is {found!r}, this Seek reads {readable}")
    return meta


def _load_state(model: nn.Module, state: dict[str, Tensor], path: Path) -> None:
    """Copy ``state`` into ``model``, naming the first missing, unexpected or mis-shaped tensor on failure."""
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        what = f"missing tensor '{missing[0]}'" if missing else f"unexpected tensor '{unexpected[0]}'"
        raise DataError(f"{path}: weights do not fit the config ({what})")
    for name, tensor in state.items():
        if tensor.shape != expected[name].shape:
            raise DataError(
                f"{path}: tensor '{name}' has shape {tuple(tensor.shape)}, "
                f"the config needs {tuple(expected[name].shape)}"
            )
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:  # dtype or other mismatch not caught above
        raise DataError(f"{path}: weights do not fit the config ({exc})") from None
