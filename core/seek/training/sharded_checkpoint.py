"""Checkpoints of sharded (fsdp+tp) runs through torch.distributed.checkpoint, stored as safetensors.

Every rank writes its own shards of the model and optimiser tensors with DCP's
``HuggingFaceStorageWriter`` (safetensors files, a JSON index; no pickle anywhere), consolidated
into one full safetensors file as the save ends; a later run on any number of ranks and any
tp_size loads it back with ``HuggingFaceStorageReader``, which reshards as it reads. The loop
state, schedule, RNG and optimiser hyper-parameters stay in the trainer's ``step-N.safetensors``
next to it, which names the DCP folder. ``export_model`` turns such a folder into a plain
``SeekTransformer.save`` directory (one ``model.safetensors`` + ``model.json``) for serving.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seek.errors import DataError

if TYPE_CHECKING:
    import torch

    from seek.models import SeekConfig

MODEL, OPTIM = "model.", "optim."


def sharded_dir(step_file: Path) -> Path:
    """The DCP folder that belongs to the trainer checkpoint ``step-N.safetensors``."""
    return step_file.with_suffix(".dcp")


def _flat(model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> tuple[dict[str, Any], dict[str, Any]]:
    """(flat dict of every model and optimiser tensor but the 0-d ones, the optimiser state dict it came from).

    0-d states (AdamW's ``step``) are left to the trainer's own checkpoint file: the safetensors
    consolidation of torch 2.13 writes them as 0.
    """
    from torch.distributed.checkpoint.state_dict import get_model_state_dict, get_optimizer_state_dict

    flat: dict[str, Any] = {MODEL + key: value for key, value in get_model_state_dict(model).items()}
    optim: dict[str, Any] = dict(get_optimizer_state_dict(model, optimizer))
    for fqn, states in optim["state"].items():
        for name, value in states.items():
            if value.dim() > 0:
                flat[f"{OPTIM}{fqn}.{name}"] = value
    return flat, optim


def _scalars(optim: dict[str, Any]) -> dict[str, Any]:
    """The optimiser's 0-d states by "fqn|name" (identical on every rank)."""
    return {
        f"{fqn}|{name}": value.detach().cpu().clone()
        for fqn, states in optim["state"].items()
        for name, value in states.items()
        if value.dim() == 0
    }


def save_sharded(directory: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    """Write model + optimiser tensors to ``directory`` from every rank (collective).

    Returns what the trainer keeps in its own file: the optimiser's hyper-parameters and 0-d states.
    """
    import torch.distributed as dist
    from torch.distributed.checkpoint.hf_storage import HuggingFaceStorageWriter
    from torch.distributed.checkpoint.state_dict_saver import save

    flat, optim = _flat(model, optimizer)
    if dist.get_rank() == 0 and directory.exists():
        shutil.rmtree(directory)  # a rerun of the same step after a crash
    dist.barrier()
    writer = HuggingFaceStorageWriter(str(directory), save_distributed=True, enable_consolidation=True)
    save(flat, storage_writer=writer)
    groups = [{k: v for k, v in group.items() if k != "params"} for group in optimizer.param_groups]
    return {"param_groups": groups, "scalars": _scalars(optim)}


def load_sharded(
    directory: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer, kept: dict[str, Any]
) -> None:
    """Load a folder written by :func:`save_sharded` into this run's (differently sharded) model and optimiser."""
    from torch.distributed.checkpoint.hf_storage import HuggingFaceStorageReader
    from torch.distributed.checkpoint.state_dict import set_model_state_dict, set_optimizer_state_dict

    if not directory.is_dir():
        raise DataError(f"{directory}: the sharded checkpoint folder this checkpoint names is missing")
    flat, optim = _flat(model, optimizer)
    from torch.distributed.checkpoint.state_dict_loader import load

    load(flat, storage_reader=HuggingFaceStorageReader(str(directory)))
    set_model_state_dict(model, {k[len(MODEL) :]: v for k, v in flat.items() if k.startswith(MODEL)})
    for key, value in flat.items():
        if key.startswith(OPTIM):
            fqn, name = key[len(OPTIM) :].rsplit(".", 1)
            optim["state"][fqn][name] = value
    for key, value in kept["scalars"].items():
        fqn, name = key.split("|")
        optim["state"][fqn][name].copy_(value)
    set_optimizer_state_dict(model, optimizer, optim)
    for group, saved in zip(optimizer.param_groups, kept["param_groups"], strict=True):
        group.update({k: tuple(v) if isinstance(v, list) else v for k, v in saved.items()})


def prune_sharded(directory: Path) -> None:
    """Remove DCP folders whose trainer checkpoint has been pruned."""
    for folder in directory.glob("step-*.dcp"):
        if not folder.with_suffix(".safetensors").exists():
            shutil.rmtree(folder, ignore_errors=True)


def full_model_state(directory: Path) -> dict[str, torch.Tensor]:
    """The model tensors of a DCP folder from its consolidated safetensors file(s), fused-qkv layout, on CPU."""
    from safetensors.torch import load_file

    from seek.training.tensor_parallel import merge_qkv

    files = sorted(directory.glob("model-*.safetensors"))
    if not files:
        raise DataError(f"{directory}: no consolidated safetensors file (not a folder written by save_sharded)")
    state: dict[str, torch.Tensor] = {}
    for file in files:
        state.update({k[len(MODEL) :]: v for k, v in load_file(str(file)).items() if k.startswith(MODEL)})
    return merge_qkv(state)


def export_model(directory: Path, config: SeekConfig, out: Path) -> Path:
    """Write a sharded checkpoint's weights as one ``SeekTransformer.save`` directory (safetensors + JSON)."""
    from seek.models import SeekTransformer
    from seek.models.transformer import _load_state

    model = SeekTransformer(config)
    _load_state(model, full_model_state(directory), directory)
    return model.save(out)
