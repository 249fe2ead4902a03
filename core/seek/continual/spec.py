"""What an App declares about continual learning (``seek update``): its strategies and default."""

from __future__ import annotations

from dataclasses import dataclass

#: Every strategy the core knows; ``joint`` retrains on all history (the upper bound, not an update).
STRATEGIES: tuple[str, ...] = ("naive", "ewc", "online-ewc", "replay", "joint")
#: The strategies ``seek update`` can apply to one new batch of data (joint needs all history).
UPDATE_STRATEGIES: tuple[str, ...] = ("naive", "ewc", "online-ewc", "replay")


@dataclass(frozen=True)
class ContinualSpec:
    """An App's continual-learning support: which update strategies it accepts and which one is the default.

    An app declaring it implements ``App.update(config, ctx, parent, strategy)``; the core command
    ``seek update APP --from RUN --data NEW`` verifies the parent run, refuses data whose schema differs
    from the training schema the parent recorded (``seek.continual.lineage.write_training_schema``),
    and writes ``lineage.json`` into the new run folder.
    """

    strategies: tuple[str, ...] = UPDATE_STRATEGIES
    default: str = "online-ewc"

    def __post_init__(self) -> None:
        unknown = [s for s in (*self.strategies, self.default) if s not in UPDATE_STRATEGIES]
        if unknown:
            raise ValueError(f"ContinualSpec: unknown strategy {unknown[0]!r} (known: {', '.join(UPDATE_STRATEGIES)})")
        if self.default not in self.strategies:
            raise ValueError(f"ContinualSpec: default {self.default!r} is not among {self.strategies}")
