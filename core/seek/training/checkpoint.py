"""Checkpoint files: one safetensors file per checkpoint, tensors plus a JSON state, written atomically.

Everything a resume needs (model, optimiser, scheduler, scaler, RNG states, data position) is flattened
into named tensors and a JSON document stored in the safetensors metadata, so nothing is ever pickled.
"""

from __future__ import annotations

import json
import logging
import random
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seek.errors import RunError
from seek.io import atomic_path

if TYPE_CHECKING:
    import torch

log = logging.getLogger("seek.training")

FORMAT = 1
_NAME = re.compile(r"^step-(\d{8,})\.safetensors$")
_STATE_KEY = "seek_state"


def pack(obj: Any, tensors: dict[str, torch.Tensor], prefix: str) -> Any:
    """Move every tensor in a nested state into ``tensors`` and return a JSON-ready skeleton of the rest."""
    import torch

    if isinstance(obj, torch.Tensor):
        key = prefix or "_"
        tensors[key] = obj.detach().to("cpu").contiguous().clone()
        return {"__tensor__": key}
    if isinstance(obj, dict):
        return {"__dict__": [[k, pack(v, tensors, f"{prefix}/{k}")] for k, v in obj.items()]}
    if isinstance(obj, tuple):
        return {"__tuple__": [pack(v, tensors, f"{prefix}/{i}") for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [pack(v, tensors, f"{prefix}/{i}") for i, v in enumerate(obj)]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"checkpoint state at {prefix!r}: cannot store a {type(obj).__name__}")


def unpack(skeleton: Any, tensors: dict[str, torch.Tensor]) -> Any:
    """Inverse of :func:`pack`."""
    if isinstance(skeleton, dict):
        if "__tensor__" in skeleton:
            return tensors[skeleton["__tensor__"]]
        if "__tuple__" in skeleton:
            return tuple(unpack(v, tensors) for v in skeleton["__tuple__"])
        return {k: unpack(v, tensors) for k, v in skeleton["__dict__"]}
    if isinstance(skeleton, list):
        return [unpack(v, tensors) for v in skeleton]
    return skeleton


def save_checkpoint(path: Path, state: dict[str, Any]) -> Path:
    """Write ``state`` (nested dicts/lists/tensors/scalars) to ``path`` atomically as safetensors."""
    from safetensors.torch import save_file

    tensors: dict[str, torch.Tensor] = {}
    skeleton = pack(state, tensors, "")
    metadata = {_STATE_KEY: json.dumps({"format": FORMAT, "state": skeleton})}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=metadata)
    return path


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint` (no pickle involved)."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as handle:
            meta = handle.metadata() or {}
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
        document = json.loads(meta[_STATE_KEY])
    except (OSError, KeyError, ValueError, SafetensorError) as exc:
        raise RunError(f"{path}: unreadable checkpoint ({exc})") from exc
    if document.get("format") != FORMAT:
        raise RunError(f"{path}: checkpoint format {document.get('format')!r} is not {FORMAT}")
    return unpack(document["state"], tensors)


def checkpoint_path(directory: Path, global_step: int) -> Path:
    """Path of the checkpoint taken after ``global_step`` optimiser steps."""
    return directory / f"step-{global_step:08d}.safetensors"


def list_checkpoints(directory: Path) -> list[Path]:
    """Finished checkpoints in ``directory``, oldest first (half-written temp files are ignored)."""
    if not directory.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in directory.iterdir() if (m := _NAME.match(p.name))]
    return [p for _, p in sorted(found)]


def latest_checkpoint(directory: Path) -> Path | None:
    """The most advanced checkpoint in ``directory``, or None."""
    found = list_checkpoints(directory)
    return found[-1] if found else None


def load_latest_good(directory: Path) -> tuple[Path, dict[str, Any]] | None:
    """The newest checkpoint that reads back, falling back past damaged ones with a warning; None if none."""
    for path in reversed(list_checkpoints(directory)):
        try:
            return path, load_checkpoint(path)
        except RunError as exc:
            log.warning("%s; resuming from the previous checkpoint instead", exc)
    return None


def prune_checkpoints(directory: Path, keep: int) -> None:
    """Delete all but the newest ``keep`` checkpoints and leftovers of interrupted writes."""
    for old in list_checkpoints(directory)[:-keep]:
        old.unlink(missing_ok=True)
    for leftover in directory.glob(".step-*.tmp"):
        leftover.unlink(missing_ok=True)


def capture_rng(device: torch.device | None = None) -> dict[str, torch.Tensor]:
    """This process's python, numpy, torch (and ``device``'s CUDA) RNG states, each as a fixed-shape tensor."""
    import torch

    version, words, gauss = random.getstate()
    states = {
        "python": torch.tensor([version, *words], dtype=torch.int64),
        "python_gauss": torch.tensor([gauss is not None, gauss or 0.0], dtype=torch.float64),
        "torch": torch.get_rng_state(),
    }
    try:
        import numpy as np
    except ImportError:  # numpy is optional at run time (a bare GPU box may only have torch)
        np = None  # type: ignore[assignment]
    if np is not None:
        _, keys, pos, has_gauss, cached = np.random.get_state()  # type: ignore[misc]
        states["numpy"] = torch.tensor([*keys.tolist(), pos, has_gauss], dtype=torch.int64)  # type: ignore[attr-defined]
        states["numpy_gauss"] = torch.tensor([cached], dtype=torch.float64)
    if device is not None and device.type == "cuda":
        # only this rank's GPU: reading every device's state would open a context on each of them
        states["cuda"] = torch.cuda.get_rng_state(device)
    return states


def restore_rng(states: dict[str, torch.Tensor], device: torch.device | None = None) -> None:
    """Put back the RNG states taken by :func:`capture_rng`."""
    import torch

    words = states["python"].tolist()
    has_gauss, gauss = states["python_gauss"].tolist()
    random.setstate((int(words[0]), tuple(int(w) for w in words[1:]), gauss if has_gauss else None))
    torch.set_rng_state(states["torch"].to(torch.uint8))
    if "numpy" in states:
        import numpy as np

        values = states["numpy"].tolist()
        keys = np.array(values[:-2], dtype=np.uint32)
        np.random.set_state(("MT19937", keys, int(values[-2]), int(values[-1]), float(states["numpy_gauss"][0])))
    if "cuda" in states and device is not None and device.type == "cuda":
        torch.cuda.set_rng_state(states["cuda"].to(torch.uint8), device)
