"""Where the online feature state lives: in memory (default) or in Redis, shared by serving replicas.

The records are the same in both: one per card, terminal and device, plus the transaction id -> terminal
index that late labels go through. In memory the store holds the live objects (no copying); in Redis each
record is one key holding compact JSON (:mod:`seek_finance.redis_store`).
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

#: Environment variable naming the Redis server of the predictor's online state (memory when unset).
REDIS_URL_ENV = "SEEK_FINANCE_REDIS_URL"
#: Environment variable overriding the key namespace (default: the run folder's name).
REDIS_NAMESPACE_ENV = "SEEK_FINANCE_REDIS_NAMESPACE"
STEPS_KEPT = 64  # sequence-model steps kept per card


@dataclass
class Card:
    """A card's recent payments (ts, amount, terminal, device, lat, lon) and sequence-model steps."""

    events: deque = field(default_factory=deque)
    evicted: tuple | list | None = None  # the newest event pushed out of the window ("previous transaction")
    steps: deque = field(default_factory=lambda: deque(maxlen=STEPS_KEPT))  # (ts, step vector)


@dataclass
class Terminal:
    """A terminal's recent payments as [ts, label, transaction id] (the label may be set later)."""

    events: deque = field(default_factory=deque)


@dataclass
class Device:
    """A device's recent payment times and the first time each customer used it."""

    events: deque = field(default_factory=deque)
    first_seen: dict = field(default_factory=dict)


#: Changes the records of one payment in place; returns the terminal entries added and dropped.
Apply = Callable[[Card, Terminal, "Device | None"], tuple[list, list]]


class StateStore(Protocol):
    """What :class:`seek_finance.online.OnlineState` reads and writes its records through."""

    def read(self, card: Any, terminal: Any, device: Any, with_device: bool) -> tuple[Any, Any, Any]:
        """The card, terminal and device records (None where absent; device None unless ``with_device``)."""

    def update(self, card: Any, terminal: Any, device: Any, with_device: bool, apply: Apply) -> None:
        """Run ``apply`` on the three records (created when absent) and store the result."""

    def previous_steps(self, card: Any, t: int, k: int) -> list:
        """The card's last ``k`` (timestamp, step vector) strictly before ``t``, oldest first."""

    def set_label(self, transaction_id: Any, label: int) -> bool:
        """Set the label of a payment still in its terminal's window; False if it is not there."""

    def seed(self, source: MemoryStore) -> bool:
        """Take over an in-memory state unless this store already holds one; True if taken."""


class MemoryStore:
    """The records as live objects in dicts: the default, and the fastest."""

    def __init__(self) -> None:
        self.cards: dict[Any, Card] = {}
        self.terminals: dict[Any, Terminal] = {}
        self.devices: dict[Any, Device] = {}
        self.by_id: dict[Any, list] = {}  # transaction id -> the terminal entry itself

    def read(self, card: Any, terminal: Any, device: Any, with_device: bool) -> tuple[Any, Any, Any]:
        """The card, terminal and device records (None where absent; device None unless ``with_device``)."""
        return self.cards.get(card), self.terminals.get(terminal), self.devices.get(device) if with_device else None

    def update(self, card: Any, terminal: Any, device: Any, with_device: bool, apply: Apply) -> None:
        """Run ``apply`` on the live records (created when absent)."""
        c = self.cards.get(card)
        if c is None:
            c = self.cards[card] = Card()
        t = self.terminals.get(terminal)
        if t is None:
            t = self.terminals[terminal] = Terminal()
        d = None
        if with_device:
            d = self.devices.get(device)
            if d is None:
                d = self.devices[device] = Device()
        added, dropped = apply(c, t, d)
        for entry in added:
            self.by_id[entry[2]] = entry
        for entry in dropped:
            self.by_id.pop(entry[2], None)

    def previous_steps(self, card: Any, t: int, k: int) -> list:
        """The card's last ``k`` (timestamp, step vector) strictly before ``t``, oldest first."""
        record = self.cards.get(card)
        if record is None or k <= 0:
            return []
        return [s for s in record.steps if s[0] < t][-k:]

    def set_label(self, transaction_id: Any, label: int) -> bool:
        """Set the label of a payment still in its terminal's window; False if it is not there."""
        entry = self.by_id.get(transaction_id)
        if entry is None:
            return False
        entry[1] = int(label)
        return True

    def seed(self, source: MemoryStore) -> bool:
        """Take over ``source``'s records (shared, not copied) unless this store already holds some."""
        if self.cards or self.terminals or self.devices:
            return False
        self.cards, self.terminals, self.devices, self.by_id = (
            source.cards,
            source.terminals,
            source.devices,
            source.by_id,
        )
        return True


def store_from_env(namespace: str) -> Any:
    """The Redis store named by ``SEEK_FINANCE_REDIS_URL`` (namespace overridable), or None for memory."""
    url = os.environ.get(REDIS_URL_ENV, "").strip()
    if not url:
        return None
    from seek_finance.redis_store import RedisStore

    return RedisStore.from_url(url, os.environ.get(REDIS_NAMESPACE_ENV, "").strip() or namespace)
