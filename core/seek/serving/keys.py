"""API keys: created once and shown once, stored hashed, looked up by id and compared in constant time.

A key reads ``seek_<id>_<secret>``. ``<root>/serving/keys.json`` keeps only the id, the sha256 of the
secret (a 256-bit random token needs no slow hash: there is nothing to brute-force), the app it is
for (``*`` for all), its scope and its rate limit. Scopes: ``predict`` (inference and feedback),
``jobs`` (async jobs), ``admin`` (everything).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from seek.errors import ConfigError, IntegrityError
from seek.io import atomic_write_json

SCOPES = ("predict", "jobs", "admin")
PREFIX = "seek_"


@dataclass(frozen=True)
class ApiKey:
    """A stored key (never the secret itself)."""

    id: str
    hash: str
    app: str
    scope: str
    rate: float
    burst: int
    created: str
    revoked: bool = False

    def allows(self, scope: str, app: str | None) -> bool:
        """Whether this key may use ``scope`` on ``app`` (None: not app-specific)."""
        if self.revoked:
            return False
        if self.scope != "admin" and self.scope != scope:
            return False
        return self.app == "*" or app is None or self.app == app


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class KeyStore:
    """Keys in ``root/serving/keys.json``, re-read when the file changes."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.path = Path(root) / "serving" / "keys.json"
        self._stamp: tuple[int, int] | None = None
        self._keys: dict[str, ApiKey] = {}

    def _load(self) -> dict[str, ApiKey]:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            self._keys, self._stamp = {}, None
            return self._keys
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp != self._stamp:
            try:
                data = json.loads(self.path.read_text())
                self._keys = {k["id"]: ApiKey(**k) for k in data.get("keys", [])}
            except (ValueError, TypeError, KeyError) as exc:
                raise IntegrityError(f"{self.path}: key file is malformed ({exc})") from None
            self._stamp = stamp
        return self._keys

    def listed(self) -> list[ApiKey]:
        """Every stored key."""
        return list(self._load().values())

    def create(self, app: str, scope: str, rate: float = 50.0, burst: int | None = None) -> tuple[ApiKey, str]:
        """Create a key; returns it and the full token (shown once, never stored)."""
        if scope not in SCOPES:
            raise ConfigError(f"--scope {scope}: one of {', '.join(SCOPES)}")
        if rate <= 0:
            raise ConfigError(f"--rate {rate}: must be > 0 requests per second")
        key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
        key = ApiKey(
            id=key_id,
            hash=_digest(secret),
            app=app,
            scope=scope,
            rate=float(rate),
            burst=int(burst if burst is not None else max(1, round(rate * 2))),
            created=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        keys = self._load()
        keys[key_id] = key
        self._save(keys)
        return key, f"{PREFIX}{key_id}_{secret}"

    def revoke(self, key_id: str) -> ApiKey:
        """Mark a key revoked (kept for the audit trail)."""
        keys = self._load()
        if key_id not in keys:
            raise ConfigError(f"no API key with id {key_id!r} (see `seek keys list`)")
        keys[key_id] = ApiKey(**{**asdict(keys[key_id]), "revoked": True})
        self._save(keys)
        return keys[key_id]

    def _save(self, keys: dict[str, ApiKey]) -> None:
        atomic_write_json(self.path, {"keys": [asdict(k) for k in keys.values()]})
        os.chmod(self.path, 0o600)
        self._stamp = None

    def check(self, token: str) -> ApiKey | None:
        """The key a token belongs to, or None; the secret is compared in constant time."""
        if not token.startswith(PREFIX):
            return None
        key_id, sep, secret = token[len(PREFIX) :].partition("_")
        if not sep:
            return None
        key = self._load().get(key_id)
        # Compare even when the id is unknown, so timing does not tell which ids exist.
        expected = key.hash if key is not None else "0" * 64
        same = hmac.compare_digest(_digest(secret), expected)
        return key if same and key is not None and not key.revoked else None


def describe(key: ApiKey) -> dict[str, Any]:
    """What ``seek keys list`` shows."""
    data = asdict(key)
    data.pop("hash")
    return data
