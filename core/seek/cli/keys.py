"""``seek keys``: API keys for ``seek serve`` (stored hashed; the key is shown once)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from seek.cli.output import console, table

if TYPE_CHECKING:
    from seek.serving.keys import KeyStore

_ROOT = click.option("--root", default=None, help="Runs root (default: $SEEK_RUNS_DIR or ./runs).")


def _store(root: str | None) -> KeyStore:
    from seek.runner import default_root
    from seek.serving.keys import KeyStore

    return KeyStore(root or default_root())


@click.group("keys")
def command() -> None:
    """Create, list and revoke API keys."""


@command.command("create")
@click.option("--app", default="*", show_default=True, help="App the key is for (* = all).")
@click.option("--scope", type=click.Choice(["predict", "jobs", "admin"]), default="predict", show_default=True)
@click.option("--rate", default=50.0, show_default=True, type=float, help="Requests per second allowed.")
@click.option("--burst", default=None, type=int, help="Requests allowed at once (default 2 x rate).")
@_ROOT
def create(app: str, scope: str, rate: float, burst: int | None, root: str | None) -> None:
    """Create a key and print it (only now: it is stored hashed)."""
    if app != "*":
        from seek.cli import current_manager

        current_manager().app(app)
    key, token = _store(root).create(app, scope, rate, burst)
    click.echo(token)
    click.echo(f"key {key.id}: scope {key.scope} on {key.app}, {key.rate:g} req/s (store it now)", err=True)


@command.command("list")
@_ROOT
def list_keys(root: str | None) -> None:
    """Every key (ids and scopes, never secrets)."""
    rows = [
        (k.id, k.app, k.scope, f"{k.rate:g}/s", k.created, "revoked" if k.revoked else "active")
        for k in _store(root).listed()
    ]
    console().print(table("API keys", ["id", "app", "scope", "rate", "created", "state"], rows))


@command.command("revoke")
@click.argument("key_id")
@_ROOT
def revoke(key_id: str, root: str | None) -> None:
    """Revoke a key by id."""
    _store(root).revoke(key_id)
    click.echo(f"key {key_id} revoked")
