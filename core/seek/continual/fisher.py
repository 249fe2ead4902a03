"""Diagonal Fisher information of a model on a dataset: empirical, true (sampled) and batched variants.

- ``empirical``: mean over samples of the squared per-sample gradient of the loss at the *observed*
  target. Cheap and common in EWC code, but a biased estimate far from the optimum.
- ``true``: the same, with the target *drawn from the model's own predictive distribution*
  (``sample_targets``); this is the Fisher of the model's likelihood, the quantity EWC's Laplace
  argument asks for. With one draw per sample it is an unbiased Monte-Carlo estimate.
- ``batched``: squared gradient of the mean loss of each mini-batch, averaged over batches. Fastest,
  but the squares of averages are not averages of squares: it underestimates the diagonal by roughly
  the batch size for the noise part. Offered for large models; do not compare its lambda with the others.

Every variant is non-negative and deterministic for a given ``seed`` (the model runs in eval mode).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal

from seek.errors import ConfigError

if TYPE_CHECKING:
    import torch

FisherVariant = Literal["empirical", "true", "batched"]
VARIANTS: tuple[str, ...] = ("empirical", "true", "batched")
#: ``sample_targets(outputs, batch, generator) -> batch`` with ``y`` replaced by a draw from the model.
TargetSampler = Callable[[Any, dict[str, Any], Any], dict[str, Any]]


def estimate_fisher(
    model: torch.nn.Module,
    data: Mapping[str, torch.Tensor],
    loss_fn: Callable[[Any, dict[str, Any]], torch.Tensor],
    *,
    variant: str = "empirical",
    n_samples: int = 512,
    batch_size: int = 64,
    seed: int = 0,
    sample_targets: TargetSampler | None = None,
) -> dict[str, torch.Tensor]:
    """Parameter name -> diagonal Fisher estimate over ``n_samples`` samples of ``data`` (a dict of tensors)."""
    import torch

    if variant not in VARIANTS:
        raise ConfigError(f"fisher variant {variant!r}: unknown (one of {', '.join(VARIANTS)})")
    if variant == "true" and sample_targets is None:
        raise ConfigError("fisher variant 'true' needs sample_targets (a draw of y from the model's distribution)")
    n = len(data["x"])
    generator = torch.Generator().manual_seed(seed)
    take = torch.randperm(n, generator=generator)[: min(n_samples, n)]
    params = {name: p for name, p in model.named_parameters() if p.requires_grad}
    fisher = {name: torch.zeros_like(p, device="cpu") for name, p in params.items()}
    device = next(iter(params.values())).device
    was_training = model.training
    model.eval()
    try:
        # per-sample gradients (empirical, true) or one gradient per mini-batch (batched)
        step = batch_size if variant == "batched" else 1
        chunks = [take[i : i + step] for i in range(0, len(take), step)]
        for chunk in chunks:
            batch = {key: value[chunk].to(device) for key, value in data.items()}
            model.zero_grad(set_to_none=True)
            outputs = model(batch["x"])
            if variant == "true":
                assert sample_targets is not None
                with torch.no_grad():
                    batch = sample_targets(outputs.detach(), batch, generator)
            loss = loss_fn(outputs, batch)
            grads = torch.autograd.grad(loss, list(params.values()), allow_unused=True)
            for (name, _), grad in zip(params.items(), grads, strict=True):
                if grad is not None:
                    fisher[name] += grad.detach().cpu().pow(2)
        for name in fisher:
            fisher[name] /= len(chunks)
    finally:
        model.train(was_training)
        model.zero_grad(set_to_none=True)
    return fisher


def gaussian_sampler(sigma: float) -> TargetSampler:
    """``y ~ N(output, sigma^2)``: the true-Fisher draw for a regression head trained with MSE."""

    def sample(outputs: Any, batch: dict[str, Any], generator: Any) -> dict[str, Any]:
        import torch

        noise = torch.randn(outputs.shape, generator=generator).to(outputs.device)
        return {**batch, "y": (outputs.float() + sigma * noise).reshape(batch["y"].shape)}

    return sample


def categorical_sampler() -> TargetSampler:
    """``y ~ Categorical(softmax(logits))``: the true-Fisher draw for a classification head."""

    def sample(outputs: Any, batch: dict[str, Any], generator: Any) -> dict[str, Any]:
        import torch

        probs = torch.softmax(outputs.float(), dim=-1).cpu()
        drawn = torch.multinomial(probs, 1, generator=generator).reshape(-1)
        return {**batch, "y": drawn.to(batch["y"].device, batch["y"].dtype)}

    return sample
