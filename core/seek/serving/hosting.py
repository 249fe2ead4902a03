"""Models being served: the promoted predictor of each app, swapped in place when the registry changes.

A request takes the model that is current when its batch runs; a promote or rollback loads the new
predictor on a side thread and swaps one reference, so requests already in flight finish on the old
model and none fails during the switch.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from seek.app import App, Predictor
from seek.errors import SeekError
from seek.serving.batching import BatchPolicy, MicroBatcher
from seek.serving.registry import ModelVersion, Registry

logger = logging.getLogger("seek.serving")


@dataclass(frozen=True)
class Loaded:
    """A loaded predictor and the registry version it came from."""

    version: ModelVersion
    predictor: Predictor


class ModelHost:
    """One app's served model: registry watching, loading, and its micro-batcher."""

    def __init__(self, app: App[Any], registry: Registry, policy: BatchPolicy) -> None:
        self.app = app
        self.registry = registry
        self.loaded: Loaded | None = None
        self.error: str | None = None
        self._stamp: tuple[int, int] | None = None
        self._lock = threading.Lock()
        self.batcher = MicroBatcher(self._predict, policy, name=app.name)

    @property
    def ready(self) -> bool:
        """True once a promoted model is loaded."""
        return self.loaded is not None

    def refresh(self) -> bool:
        """Load the registry's current version if it changed; True when a new model was swapped in."""
        stamp = self.registry.stamp(self.app.name)
        if stamp == self._stamp:
            return False
        with self._lock:
            self._stamp = stamp
            wanted = self.registry.current(self.app.name)
            if wanted is None or (self.loaded is not None and self.loaded.version == wanted):
                return False
            try:
                self.registry.verify(wanted)
                predictor = self.app.predictor(wanted.run)
            except (SeekError, OSError) as exc:  # keep serving the old model; the error shows in /v2/models
                self.error = f"v{wanted.version}: {exc}"
                logger.error("%s: cannot load v%d: %s", self.app.name, wanted.version, exc)
                return False
            self.loaded, self.error = Loaded(wanted, predictor), None
            logger.info("%s: serving v%d from %s", self.app.name, wanted.version, wanted.run)
            return True

    def _predict(self, records: list[Mapping[str, Any]]) -> tuple[Any, list[dict[str, Any]]]:
        loaded = self.loaded  # one snapshot per batch: a swap mid-batch does not mix models
        if loaded is None:
            raise ModelNotReady(self.app.name)
        return loaded.version, loaded.predictor.predict(list(records))

    async def predict(self, records: list[Mapping[str, Any]]) -> tuple[ModelVersion, list[dict[str, Any]]]:
        """Predict through the micro-batcher."""
        if self.loaded is None:
            raise ModelNotReady(self.app.name)
        version, answers = await self.batcher.submit(records)
        return version, answers


class ModelNotReady(SeekError):
    """The app has no promoted model loaded."""

    def __init__(self, app: str) -> None:
        super().__init__(f"model {app!r} is not ready: no promoted version (seek models promote RUN_DIR)")


async def watch(hosts: Mapping[str, ModelHost], interval_s: float) -> None:
    """Poll the registry and swap models as they are promoted or rolled back (runs for the server's life)."""
    while True:
        await asyncio.sleep(interval_s)
        for host in hosts.values():
            await asyncio.to_thread(host.refresh)
