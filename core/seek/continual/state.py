"""The consolidated knowledge a model carries between updates: Fisher diagonals, anchors, a replay buffer.

Standard EWC keeps one (Fisher, anchor) pair per learned task, so its memory grows with the number
of tasks; online EWC (Schwarz et al., 2018) keeps one running Fisher ``F <- gamma * F + F_new`` and
the latest anchor, so its memory is constant. Saved as one safetensors file (tensors named
``fisher.{i}.{param}``, ``anchor.{i}.{param}``, ``replay.{field}``) with the scalars in its metadata.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seek.errors import IntegrityError

if TYPE_CHECKING:
    import torch

    from seek.runs import RunFolder

Tensors = dict[str, "torch.Tensor"]


@dataclass
class ContinualState:
    """Penalty terms (one per task for ``ewc``, one running term for ``online-ewc``) and a replay buffer."""

    strategy: str
    gamma: float = 1.0
    fisher: list[Tensors] = field(default_factory=list)
    anchors: list[Tensors] = field(default_factory=list)
    replay: Tensors = field(default_factory=dict)
    replay_seen: int = 0
    tasks: int = 0
    lambdas: list[float] = field(default_factory=list)

    def consolidate(self, model: torch.nn.Module, fisher: Tensors) -> None:
        """Add the task just learned: its Fisher and the model's current parameters as the anchor."""
        anchor = {name: p.detach().cpu().clone() for name, p in model.named_parameters() if p.requires_grad}
        fisher = {name: f.detach().cpu().clone() for name, f in fisher.items()}
        if self.strategy == "online-ewc" and self.fisher:
            running = self.fisher[0]
            self.fisher = [{name: self.gamma * running[name] + fisher[name] for name in fisher}]
            self.anchors = [anchor]
        elif self.strategy == "online-ewc":
            self.fisher, self.anchors = [fisher], [anchor]
        elif self.strategy == "ewc":
            self.fisher.append(fisher)
            self.anchors.append(anchor)
        self.tasks += 1

    @property
    def nbytes(self) -> int:
        """Bytes of every tensor the state holds (what an update must keep besides the model)."""
        tensors = [t for group in (*self.fisher, *self.anchors, self.replay) for t in group.values()]
        return int(sum(t.numel() * t.element_size() for t in tensors))

    def tensors(self) -> Tensors:
        """Flat name -> tensor map as saved in safetensors."""
        out: Tensors = {}
        for i, (fisher, anchor) in enumerate(zip(self.fisher, self.anchors, strict=True)):
            out.update({f"fisher.{i}.{name}": t.contiguous() for name, t in fisher.items()})
            out.update({f"anchor.{i}.{name}": t.contiguous() for name, t in anchor.items()})
        out.update({f"replay.{name}": t.contiguous() for name, t in self.replay.items()})
        return out

    def metadata(self) -> dict[str, str]:
        """The scalars, as safetensors string metadata."""
        return {
            "strategy": self.strategy,
            "gamma": repr(self.gamma),
            "terms": str(len(self.fisher)),
            "tasks": str(self.tasks),
            "replay_seen": str(self.replay_seen),
            "lambdas": json.dumps(self.lambdas),
        }

    def save(self, run: RunFolder, relative: str) -> Path:
        """Write the state atomically into a run folder as safetensors."""
        from safetensors.torch import save_file

        with run.writing(relative) as tmp:
            save_file(self.tensors(), str(tmp), metadata=self.metadata())
        return run.path / relative

    @classmethod
    def load(cls, path: str | Path) -> ContinualState:
        """Read a state written by :meth:`save` (a verified run's file; no pickle involved)."""
        from safetensors import safe_open

        tensors: Tensors = {}
        with safe_open(str(path), framework="pt") as handle:
            meta: dict[str, Any] = dict(handle.metadata() or {})
            for key in handle.keys():  # noqa: SIM118 - safe_open is not a mapping
                tensors[key] = handle.get_tensor(key)
        try:
            terms = int(meta["terms"])
            state = cls(
                strategy=meta["strategy"],
                gamma=float(meta["gamma"]),
                tasks=int(meta["tasks"]),
                replay_seen=int(meta["replay_seen"]),
                lambdas=[float(v) for v in json.loads(meta["lambdas"])],
            )
        except (KeyError, ValueError) as exc:
            raise IntegrityError(f"{path}: not a continual state file ({exc})") from None
        for i in range(terms):
            state.fisher.append(_group(tensors, f"fisher.{i}."))
            state.anchors.append(_group(tensors, f"anchor.{i}."))
        state.replay = _group(tensors, "replay.")
        return state


def _group(tensors: Tensors, prefix: str) -> Tensors:
    return {key[len(prefix) :]: value for key, value in tensors.items() if key.startswith(prefix)}
