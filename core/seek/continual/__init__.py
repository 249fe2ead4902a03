"""Continual learning for any app: EWC, online EWC and replay as trainer callbacks, the stream runner, metrics.

- :mod:`seek.continual.fisher` — diagonal Fisher (empirical, true, batched);
- :mod:`seek.continual.state` — Fisher diagonals, anchors and replay buffer, saved as safetensors;
- :mod:`seek.continual.penalty` / :mod:`seek.continual.replay` — the callbacks the core Trainer runs;
- :mod:`seek.continual.strategies` — naive, EWC, online EWC, replay, joint on one stream; lambda selection;
- :mod:`seek.continual.metrics` — R[k][j], average error, decay, forgetting, backward transfer;
- :mod:`seek.continual.drift`, :mod:`seek.continual.lineage`, :mod:`seek.continual.update` — ``seek update``.

Importing this package does not import torch.
"""

from __future__ import annotations

from seek.continual.spec import STRATEGIES, UPDATE_STRATEGIES, ContinualSpec

__all__ = ["STRATEGIES", "UPDATE_STRATEGIES", "ContinualSpec"]
