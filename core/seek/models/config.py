"""SeekConfig: the hyper-parameters of a Seek transformer, its presets and their validation."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from seek.errors import ConfigError

# Width/depth presets. tiny and small fit the 2-core CPU and the tests; base/large/xl cover the
# production range (hidden 768-1536, heads 8-16). large (1024/16) is the GPU benchmark's model.
# full_attention_below: below this many tokens the GPU presets run as plain full-attention blocks,
# because there the hierarchy's extra kernels cost more than the attention they save: on one H200,
# eager, ours was 0.5-0.99x full attention's speed at 512-4096 tokens and 1.5-2.1x at 8192 (small fp32
# batch 1, small bf16 batch 8, base bf16 batch 4; BENCHMARKS.md "GPU efficiency"). tiny keeps the
# hierarchy at every length (the CPU apps and tests use it).
_GPU_SWITCH = 8192
PRESETS: dict[str, dict[str, Any]] = {
    "tiny": {"hidden_size": 32, "num_layers": 2, "num_heads": 2, "segment_size": 16, "max_len": 1024},
    "small": {"hidden_size": 256, "num_layers": 4, "num_heads": 4, "segment_size": 64, "max_len": 16384},
    "base": {"hidden_size": 768, "num_layers": 12, "num_heads": 12, "segment_size": 128, "max_len": 16384},
    "large": {"hidden_size": 1024, "num_layers": 24, "num_heads": 16, "segment_size": 128, "max_len": 16384},
    "xl": {"hidden_size": 1536, "num_layers": 24, "num_heads": 16, "segment_size": 128, "max_len": 16384},
}
# The GPU presets' blocks are lean: bias-free linears and LayerNorms without gain and bias. On an H200
# that drops the bias-gradient reductions and LayerNorm's gain/bias backward (8.2 of 80.9 ms of kernels
# per large step) and lifts large from 44.5-45.4% to 48.3-50.3% MFU with cuda_graphs; on a counting
# task the lean form was within noise (ahead on the CPU check, slightly behind on the GPU one; BENCHMARKS.md
# "GPU efficiency", benchmarks/bench_lean_quality.py). tiny, the CPU apps' and tests' preset, keeps both.
for _name in ("small", "base", "large", "xl"):
    PRESETS[_name].update(full_attention_below=_GPU_SWITCH, linear_bias=False, norm_affine=False)


class SeekConfig(BaseModel):
    """Hyper-parameters of a SeekTransformer; serialisable to JSON and validated on construction."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    input_type: Literal["tokens", "dense"] = "tokens"
    vocab_size: int | None = Field(default=None, ge=2, description="number of token ids (tokens input)")
    input_dim: int | None = Field(default=None, ge=1, description="features per position (dense input)")
    hidden_size: int = Field(default=256, ge=1)
    num_layers: int = Field(default=4, ge=1)
    num_heads: int = Field(default=4, ge=1)
    ffn_mult: int = Field(default=4, ge=1, description="feed-forward width as a multiple of hidden_size")
    segment_size: int = Field(default=64, ge=1, description="tokens per local-attention segment")
    max_len: int = Field(default=16384, ge=1, description="longest sequence the model accepts")
    dropout: float = Field(default=0.1, ge=0.0, lt=1.0)
    attention: Literal["hierarchical", "full"] = Field(
        default="hierarchical", description="'full' gives the plain full-attention baseline of the same size"
    )
    full_attention_below: int = Field(
        default=0,
        ge=0,
        description="hierarchical only: a sequence shorter than this many tokens goes through every block as plain "
        "full attention on the block's local-attention and feed-forward weights (fusion skipped); 0 = never",
    )
    linear_bias: bool = Field(
        default=True,
        description="biases in the blocks' linear layers; False gives bias-free blocks (as in PaLM, LLaMA, OLMo), "
        "which on a GPU saves one gradient reduction per layer and step",
    )
    norm_affine: bool = Field(
        default=True,
        description="learned gain and bias in the blocks' and the final LayerNorm; False gives non-parametric "
        "LayerNorm (as in OLMo: the next linear layer can absorb both), which saves their gradient reductions",
    )
    head: Literal["classification", "regression", "token"] = "classification"
    num_outputs: int = Field(default=2, ge=1)
    layer_norm_eps: float = Field(default=1e-5, gt=0.0)

    @model_validator(mode="wrap")
    @classmethod
    def _as_config_error(cls, data: Any, handler: Any) -> SeekConfig:
        """Turn pydantic's multi-line report into one ConfigError line naming the field."""
        try:
            return handler(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(part) for part in first["loc"]) or "config"
            raise ConfigError(f"model config field '{field}': {first['msg']}") from None

    @model_validator(mode="after")
    def _check_consistency(self) -> SeekConfig:
        """Reject combinations of fields that cannot build a model."""
        if self.hidden_size % self.num_heads:
            raise ConfigError(
                f"model config field 'hidden_size': {self.hidden_size} is not divisible by num_heads={self.num_heads}"
            )
        if self.input_type == "tokens" and self.vocab_size is None:
            raise ConfigError("model config field 'vocab_size': required when input_type='tokens'")
        if self.input_type == "dense" and self.input_dim is None:
            raise ConfigError("model config field 'input_dim': required when input_type='dense'")
        return self

    def uses_full_attention(self, seq_len: int) -> bool:
        """True when a sequence of ``seq_len`` tokens runs through full attention (baseline or below the switch)."""
        return self.attention == "full" or seq_len < self.full_attention_below

    @property
    def head_dim(self) -> int:
        """Width of one attention head."""
        return self.hidden_size // self.num_heads

    @property
    def ffn_size(self) -> int:
        """Width of the feed-forward layer."""
        return self.hidden_size * self.ffn_mult

    @classmethod
    def preset(cls, name: str, **overrides: Any) -> SeekConfig:
        """Return the named preset ('tiny', 'small', 'base', 'large', 'xl') with ``overrides`` applied."""
        if name not in PRESETS:
            raise ConfigError(f"model preset '{name}': unknown; choose one of {', '.join(PRESETS)}")
        return cls(**{**PRESETS[name], **overrides})

    def replace(self, **changes: Any) -> SeekConfig:
        """Return a validated copy with ``changes`` applied (e.g. ``attention='full'`` for the baseline)."""
        return type(self)(**{**self.model_dump(), **changes})
