"""Scaffold a new domain plugin from the packaged Copier template (``seek new domain NAME``).

Copier can only ``copier update`` a plugin whose template is a git repository, so the template that ships
inside the ``seek`` package is kept as a small git repository in the user's cache
(``~/.cache/seek/templates/domain``, or ``$SEEK_TEMPLATE_CACHE``), one commit and tag per seek version
(``v0.1.0``). A generated plugin records that repository and tag in ``.copier-answers.yml``; after an
upgrade of seek, ``seek new refresh`` commits the new template there and ``copier update`` in the plugin
merges the change in.
"""

from __future__ import annotations

import hashlib
import keyword
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seek.errors import ConfigError, SeekError

CACHE_ENV = "SEEK_TEMPLATE_CACHE"
_NAME = re.compile(r"^[a-z][a-z0-9_]*[a-z0-9]$")
_APP = re.compile(r"^[a-z][a-z0-9-]*[a-z0-9]$")


def packaged_template() -> Path:
    """The template folder shipped inside the seek package."""
    return Path(__file__).parent / "templates" / "domain"


def check_name(name: str, installed_plugins: set[str], installed_apps: set[str], app_name: str) -> None:
    """Refuse a NAME that is not an identifier-safe slug or that clashes with what is installed."""
    if not _NAME.match(name) or keyword.iskeyword(name) or name in {"seek", "core", "test", "tests"}:
        raise ConfigError(
            f"seek new domain {name!r}: NAME must be a lower-case slug (a letter, then letters, digits or "
            "underscores, e.g. insurance or claims_ops) and not a Python keyword or a reserved name"
        )
    clash = {name, f"seek-{name.replace('_', '-')}", f"seek_{name}"} & installed_plugins
    if clash:
        raise ConfigError(f"seek new domain {name!r}: a plugin {sorted(clash)[0]!r} is already installed")
    if not _APP.match(app_name):
        raise ConfigError(f"--app {app_name!r}: an app name is lower-case letters, digits and dashes")
    if app_name in installed_apps:
        raise ConfigError(f"--app {app_name!r}: an installed plugin already provides an app with that name")


def _tree_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and ".git" not in p.parts):
        digest.update(path.relative_to(folder).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise SeekError(f"git {' '.join(args)} in {repo} failed: {done.stderr.strip().splitlines()[-1:]}")
    return done.stdout.strip()


@dataclass(frozen=True)
class TemplateRepo:
    """The cached, versioned template Copier renders from."""

    path: Path
    ref: str | None


def template_repo(version: str, cache: Path | None = None, source: Path | None = None) -> TemplateRepo:
    """The cache repository holding the installed seek's template at tag ``v<version>`` (made or refreshed).

    Without git on the machine, the packaged folder itself is used (the plugin can then not be updated
    with ``copier update``; the caller warns).
    """
    source = source or packaged_template()
    if shutil.which("git") is None:
        return TemplateRepo(source, None)
    repo = cache or Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "seek" / "templates" / "domain")
    if not (repo / ".git").is_dir():
        repo.mkdir(parents=True, exist_ok=True)
        _git(repo, "init", "--quiet")
    if _tree_digest(repo) != _tree_digest(source):
        for old in [p for p in repo.iterdir() if p.name != ".git"]:
            shutil.rmtree(old) if old.is_dir() else old.unlink()
        shutil.copytree(source, repo, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
        _git(repo, "add", "--all")
        _git(
            repo,
            "-c",
            "user.name=seek",
            "-c",
            "user.email=seek@localhost",
            "commit",
            "--quiet",
            "-m",
            f"seek {version}",
        )
    tag = f"v{version}"
    head = _git(repo, "rev-parse", "HEAD")
    tagged = subprocess.run(["git", "-C", str(repo), "rev-parse", f"{tag}^{{commit}}"], capture_output=True, text=True)
    if tagged.returncode != 0:
        _git(repo, "tag", tag)
    elif tagged.stdout.strip() != head:  # the same version with another template (a development checkout)
        tag = f"{tag}+{head[:8]}"
        _git(repo, "tag", "--force", tag)
    return TemplateRepo(repo, tag)


def render(
    name: str,
    out: Path,
    answers: dict[str, Any],
    *,
    defaults: bool,
    force: bool,
    version: str,
    cache: Path | None = None,
) -> TemplateRepo:
    """Render the template into ``out`` with Copier; refuses a non-empty ``out`` unless ``force``."""
    from seek.extras import require

    copier = require("new", "copier", needed_by="seek new domain")
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out}: is a file")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise ConfigError(f"--out {out}: folder is not empty (pass --force to render into it anyway)")
    repo = template_repo(version, cache)
    copier.run_copy(
        str(repo.path),
        str(out),
        data={"name": name, "seek_version": version, **answers},
        defaults=defaults,
        overwrite=force,
        quiet=True,
        vcs_ref=repo.ref,
    )
    return repo
