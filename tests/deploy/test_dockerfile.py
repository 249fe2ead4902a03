"""The server image's Dockerfile (deploy/Dockerfile): hadolint-style checks, without a Docker engine."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEXT = (ROOT / "deploy" / "Dockerfile").read_text()


def _instructions() -> list[tuple[str, str]]:
    joined = re.sub(r"\\\n", " ", TEXT)
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def _args() -> dict[str, str]:
    return dict(re.findall(r"^ARG (\w+)=(\S+)", TEXT, flags=re.M))


def test_multi_stage_with_a_pinned_base_image() -> None:
    froms = [rest for word, rest in _instructions() if word == "FROM"]
    assert len(froms) >= 2, "multi-stage: a build stage and a runtime stage"
    args = _args()
    for line in froms:
        image = line.split()[0]
        image = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], image)
        name, _, tag = image.partition(":")
        assert tag and tag != "latest", f"DL3006/DL3007: pin {name} to a version tag (got {image!r})"
        assert re.match(r"\d+\.\d+\.\d+", tag), f"pin the patch version of {image!r}"


def test_runs_as_a_non_root_user_set_after_installing() -> None:
    steps = _instructions()
    users = [i for i, (word, _) in enumerate(steps) if word == "USER"]
    assert users, "DL3002: the image must switch to a non-root USER"
    last = steps[users[-1]][1]
    assert last not in ("root", "0"), "the last USER must not be root"
    runs = [i for i, (word, _) in enumerate(steps) if word == "RUN"]
    assert users[-1] > runs[-1], "USER comes after the last RUN that installs"


def test_health_check_on_the_v2_live_route() -> None:
    checks = [rest for word, rest in _instructions() if word == "HEALTHCHECK"]
    assert len(checks) == 1 and "/v2/health/live" in checks[0]


def test_no_add_of_urls_no_latest_no_sudo_no_cache() -> None:
    for word, rest in _instructions():
        assert not (word == "ADD" and re.search(r"https?://", rest)), "DL3020: use COPY/curl, never ADD a URL"
        assert word != "ADD", "DL3020: use COPY for local files"
        if word == "RUN":
            assert "sudo " not in rest, "DL3004: no sudo in RUN"
            if "pip install" in rest or "pip wheel" in rest:
                assert "PIP_NO_CACHE_DIR=1" in TEXT or "--no-cache-dir" in rest, "DL3042: pip without its cache"
            assert not re.search(r"\bcd\s", rest), "DL3003: use WORKDIR, not cd"


def test_cpu_torch_and_gunicorn_with_uvicorn_workers() -> None:
    assert "download.pytorch.org/whl/cpu" in TEXT and '+cpu"' in TEXT
    cmd = [rest for word, rest in _instructions() if word == "CMD"][-1]
    assert cmd.startswith("[") and "gunicorn" in cmd, "exec form (DL3025) running gunicorn"
    conf = (ROOT / "deploy" / "gunicorn.conf.py").read_text()
    assert 'worker_class = "uvicorn.workers.UvicornWorker"' in conf and "mark_process_dead" in conf


def test_copied_paths_exist_in_the_build_context() -> None:
    for word, rest in _instructions():
        if word == "COPY" and "--from=" not in rest:
            parts = [p for p in rest.split() if not p.startswith("--")]
            for source in parts[:-1]:
                assert (ROOT / source).exists(), f"COPY {source}: not in the repository"


def test_gunicorn_factory_is_importable() -> None:
    cmd = [rest for word, rest in _instructions() if word == "CMD"][-1]
    target = re.search(r'"([\w.]+):(\w+)\(\)"', cmd)
    assert target is not None
    import importlib

    module = importlib.import_module(target.group(1))
    assert callable(getattr(module, target.group(2)))
