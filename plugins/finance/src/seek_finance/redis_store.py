"""The online state in Redis, shared by serving replicas (``pip install 'seek-finance[redis]'``).

Each record is one key holding compact JSON (``seek:finance:{namespace}:card:{id}``, ids JSON-encoded so
5 and "5" stay apart); a card's sequence-model steps are a capped Redis list beside it
(``...:steps:{id}``: appended and read, never rewritten) and the transaction id -> terminal index is one
hash. Writes happen in one compare-and-set script over the records a payment touches, so replicas
updating the same card at the same time do not lose events.
"""

from __future__ import annotations

import hashlib
import json
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from seek.errors import ConfigError
from seek_finance.state_store import (
    STEPS_KEPT,
    Apply,
    Card,
    Device,
    MemoryStore,
    Terminal,
)


class RedisStore:
    """The records in Redis, one JSON value per card/terminal/device, shared by every replica using it."""

    def __init__(self, client: Any, namespace: str = "default", url: str = "redis") -> None:
        self.client = client
        self.url = url
        self.prefix = f"seek:finance:{namespace}:"
        self.index = self.prefix + "by_id"
        self._last: tuple | None = None
        self._write = client.register_script(_COMPARE_AND_SET)

    @classmethod
    def from_url(cls, url: str, namespace: str = "default", timeout_s: float = 2.0) -> RedisStore:
        """Connect (``redis://host:port/db``) and check the server answers; ConfigError if it does not."""
        try:
            import redis
        except ImportError:
            raise ConfigError(
                f"online state at {url}: the 'redis' package is missing (pip install 'seek-finance[redis]')"
            ) from None
        try:
            client = redis.Redis.from_url(url, socket_connect_timeout=timeout_s, socket_timeout=timeout_s)
        except ValueError as exc:
            raise ConfigError(f"online state: bad Redis URL {url!r} ({exc})") from None
        store = cls(client, namespace, url)
        with store._reachable():
            client.ping()
        return store

    @contextmanager
    def _reachable(self) -> Iterator[None]:
        import redis

        try:
            yield
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
            reason = " ".join(str(exc).split())
            raise ConfigError(f"online state: Redis at {self.url} is unreachable ({reason})") from None

    def _key(self, kind: str, key: Any) -> str:
        return f"{self.prefix}{kind}:{json.dumps(key)}"

    def _keys(self, card: Any, terminal: Any, device: Any, with_device: bool) -> tuple[str, ...]:
        keys = (self._key("card", card), self._key("terminal", terminal))
        return (*keys, self._key("device", device)) if with_device else keys

    def _fetch(self, keys: tuple[str, ...]) -> tuple[list, tuple[Any, Any, Any]]:
        with self._reachable():
            raw = self.client.mget(keys)
        return raw, (_card(raw[0]), _terminal(raw[1]), _device(raw[2]) if len(keys) == 3 else None)

    def read(self, card: Any, terminal: Any, device: Any, with_device: bool) -> tuple[Any, Any, Any]:
        """The card, terminal and device records (None where absent; device None unless ``with_device``)."""
        keys = self._keys(card, terminal, device, with_device)
        raw, records = self._fetch(keys)
        # Kept for the update that usually follows (features, then observe): it saves a read and a decode.
        # The write checks the records did not change since, so a stale copy only costs a retry.
        self._last = (keys, raw, records)
        return records

    def update(self, card: Any, terminal: Any, device: Any, with_device: bool, apply: Apply) -> None:
        """Run ``apply`` on the records and write them back if no other replica changed them meanwhile."""
        keys = self._keys(card, terminal, device, with_device)
        last, self._last = self._last, None
        raw, records = (last[1], last[2]) if last is not None and last[0] == keys else self._fetch(keys)
        extra = [self._key("steps", card), self.index]
        term_json = json.dumps(terminal)
        while True:
            c, t, d = records
            c, t = c or Card(), t or Terminal()
            d = (d or Device()) if with_device else None
            added, dropped = apply(c, t, d)  # c.steps now holds only the step added, if any
            new = [_dumps_card(c), _dumps_terminal(t)]
            if d is not None:
                new.append(_dumps_device(d))
            op = {
                "old": [hashlib.sha1(r, usedforsecurity=False).hexdigest() if r is not None else "" for r in raw],
                "new": new,
                "steps": [_dumps_step(step) for step in c.steps],
                "keep": STEPS_KEPT,
                "add": {json.dumps(e[2]): term_json for e in added},
                "drop": [json.dumps(e[2]) for e in dropped if e[2] is not None],
            }
            with self._reachable():
                if self._write(keys=[*keys, *extra], args=[_dumps(op)]):
                    return
            raw, records = self._fetch(keys)  # another replica wrote first: redo on its result

    def previous_steps(self, card: Any, t: int, k: int) -> list:
        """The card's last ``k`` (timestamp, step vector) strictly before ``t``, oldest first."""
        if k <= 0:
            return []
        key = self._key("steps", card)
        with self._reachable():
            raw = self.client.lrange(key, -(k + 1), -1)  # the tail: enough unless payments share a time
            out = _steps_before(raw, t, k)
            if len(out) < k and len(raw) == k + 1:
                out = _steps_before(self.client.lrange(key, 0, -1), t, k)
        return out

    def set_label(self, transaction_id: Any, label: int) -> bool:
        """Set the label of a payment still in its terminal's window; False if it is not there."""
        with self._reachable():
            terminal = self.client.hget(self.index, json.dumps(transaction_id))
        if terminal is None:
            return False
        key = f"{self.prefix}terminal:{terminal.decode()}"
        found = [False]

        def transaction(pipe: Any) -> None:
            term = _terminal(pipe.get(key))
            found[0] = False
            pipe.multi()
            for entry in reversed(term.events if term else ()):  # the newest entry, as the memory index keeps
                if entry[2] == transaction_id:
                    entry[1] = int(label)
                    found[0] = True
                    pipe.set(key, _dumps_terminal(term))
                    break

        with self._reachable():
            self.client.transaction(transaction, key)
        return found[0]

    def seed(self, source: MemoryStore, batch: int = 2000) -> bool:
        """Copy an in-memory state here unless this namespace already has one; True if copied.

        Replicas serving one run all replay its history at start-up; only the first to claim the
        namespace writes it, the others use what is there.
        """
        with self._reachable():
            if not self.client.set(self.prefix + "seeded", "1", nx=True):
                return False
            pipe = self.client.pipeline(transaction=False)
            n = 0
            for kind, records, dump in (
                ("card", source.cards, _dumps_card),
                ("terminal", source.terminals, _dumps_terminal),
                ("device", source.devices, _dumps_device),
            ):
                for key, record in records.items():
                    pipe.set(self._key(kind, key), dump(record))
                    if kind == "card" and record.steps:
                        pipe.rpush(self._key("steps", key), *map(_dumps_step, record.steps))
                    n += 1
                    if n % batch == 0:
                        pipe.execute()
            index = {}
            for key, term in source.terminals.items():
                for entry in term.events:
                    if entry[2] is not None and source.by_id.get(entry[2]) is entry:
                        index[json.dumps(entry[2])] = json.dumps(key)
                        if len(index) == batch:
                            pipe.hset(self.index, mapping=index)
                            pipe.execute()
                            index = {}
            if index:
                pipe.hset(self.index, mapping=index)
            pipe.execute()
        return True


# KEYS: the 2-3 records, the card's steps list, the index hash. ARGV[1]: JSON {old: sha1 of each record as
# read ("" if absent), new: their new values, steps: to append, keep, add: index fields, drop: index fields}.
_COMPARE_AND_SET = """
local op = cjson.decode(ARGV[1])
for i, want in ipairs(op.old) do
  local cur = redis.call('GET', KEYS[i])
  if (cur and redis.sha1hex(cur) or '') ~= want then return 0 end
end
local n = #op.new
for i = 1, n do redis.call('SET', KEYS[i], op.new[i]) end
if #op.steps > 0 then
  redis.call('RPUSH', KEYS[n + 1], unpack(op.steps))
  redis.call('LTRIM', KEYS[n + 1], -op.keep, -1)
end
for field, value in pairs(op.add) do redis.call('HSET', KEYS[n + 2], field, value) end
if #op.drop > 0 then redis.call('HDEL', KEYS[n + 2], unpack(op.drop)) end
return 1
"""


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _dumps_card(card: Card) -> str:
    return _dumps({"e": list(card.events), "x": card.evicted})


def _dumps_terminal(terminal: Terminal) -> str:
    return _dumps({"e": list(terminal.events)})


def _dumps_device(device: Device) -> str:
    # first_seen as pairs: JSON object keys would turn integer customer ids into strings.
    return _dumps({"e": list(device.events), "f": list(device.first_seen.items())})


def _dumps_step(step: tuple) -> str:
    ts, vector = step
    return _dumps([ts, vector.tolist() if hasattr(vector, "tolist") else list(vector)])


def _steps_before(raw: list[bytes], t: int, k: int) -> list:
    out = []
    for item in reversed(raw):  # newest first
        ts, step = json.loads(item)
        if ts < t:
            out.append((ts, step))
            if len(out) == k:
                break
    return out[::-1]


def _card(raw: bytes | None) -> Card | None:
    if raw is None:
        return None
    data = json.loads(raw)
    return Card(deque(data["e"]), data["x"])


def _terminal(raw: bytes | None) -> Terminal | None:
    return None if raw is None else Terminal(deque(json.loads(raw)["e"]))


def _device(raw: bytes | None) -> Device | None:
    if raw is None:
        return None
    data = json.loads(raw)
    return Device(deque(data["e"]), {k: v for k, v in data["f"]})
