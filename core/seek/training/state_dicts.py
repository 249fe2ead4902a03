"""Full (unsharded) model and optimiser state dicts, for plain/DDP modules and FSDP2-sharded ones alike."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch


def model_state(model: torch.nn.Module, fsdp: bool) -> dict[str, Any]:
    """A copy of the full model state (collective under FSDP, where only rank 0 gets the tensors)."""
    if fsdp:
        from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

        return get_model_state_dict(model, options=StateDictOptions(full_state_dict=True, cpu_offload=True))
    return {key: value.detach().clone() for key, value in model.state_dict().items()}


def load_model_state(model: torch.nn.Module, state: dict[str, Any], fsdp: bool, is_main: bool) -> None:
    """Load a full model state; under FSDP rank 0's copy is broadcast and sharded."""
    if fsdp:
        from torch.distributed.checkpoint.state_dict import StateDictOptions, set_model_state_dict

        options = StateDictOptions(full_state_dict=True, broadcast_from_rank0=True)
        set_model_state_dict(model, state if is_main else {}, options=options)
    else:
        model.load_state_dict(state)


def optimizer_state(model: torch.nn.Module, optimizer: torch.optim.Optimizer, fsdp: bool) -> dict[str, Any]:
    """The full optimiser state (parameter names as keys under FSDP, indices otherwise)."""
    if fsdp:
        from torch.distributed.checkpoint.state_dict import StateDictOptions, get_optimizer_state_dict

        options = StateDictOptions(full_state_dict=True, cpu_offload=True)
        return get_optimizer_state_dict(model, optimizer, options=options)
    return optimizer.state_dict()


def load_optimizer_state(
    model: torch.nn.Module, optimizer: torch.optim.Optimizer, state: dict[str, Any], fsdp: bool, is_main: bool
) -> None:
    """Load a full optimiser state written by :func:`optimizer_state`."""
    if fsdp:
        from torch.distributed.checkpoint.state_dict import StateDictOptions, set_optimizer_state_dict

        options = StateDictOptions(full_state_dict=True, broadcast_from_rank0=True)
        set_optimizer_state_dict(model, optimizer, state if is_main else {}, options=options)
    else:
        optimizer.load_state_dict(state)
