"""``seek new domain``: names are checked, folders are not overwritten, and the result installs and runs."""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import venv
from pathlib import Path

import pytest


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SEEK_TEMPLATE_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.mark.parametrize("name", ["Insurance", "9lives", "has-dash", "class", "seek", "x", "trailing_"])
def test_a_bad_name_is_one_line_and_exit_2(seek_plugins, tmp_path, cache, name):
    result = seek_plugins.invoke("new", "domain", name, "--out", str(tmp_path / "p"), "--defaults")
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1 and "NAME must be a lower-case slug" in result.stderr
    assert not (tmp_path / "p").exists()


def test_a_name_or_app_that_clashes_with_an_installed_one_is_refused(seek_plugins, tmp_path, cache):
    result = seek_plugins.invoke("new", "domain", "quick", "--app", "quickstart-digits", "--out", str(tmp_path / "p"))
    assert result.exit_code == 2 and "already provides an app" in result.stderr
    seek_plugins.register(object(), name="insurance", distribution="seek-insurance")
    result = seek_plugins.invoke("new", "domain", "insurance", "--out", str(tmp_path / "p"), "--defaults")
    assert result.exit_code == 2 and "a plugin 'insurance' is already installed" in result.stderr
    assert not (tmp_path / "p").exists()


def test_a_non_empty_folder_needs_force(seek_plugins, tmp_path, cache):
    target = tmp_path / "p"
    target.mkdir()
    (target / "mine.txt").write_text("keep me")
    result = seek_plugins.invoke("new", "domain", "insurance", "--out", str(target), "--defaults")
    assert result.exit_code == 2 and "not empty" in result.stderr
    forced = seek_plugins.invoke("new", "domain", "insurance", "--out", str(target), "--defaults", "--force")
    assert forced.exit_code == 0, forced.output
    assert (target / "mine.txt").read_text() == "keep me"
    assert (target / "src" / "seek_insurance" / "app.py").is_file()


def test_the_answers_are_recorded_and_the_terms_are_the_domains_words(seek_plugins, tmp_path, cache):
    target = tmp_path / "p"
    result = seek_plugins.invoke(
        "new", "domain", "claims_ops", "--out", str(target), "--terms", "claim, adjuster ,deductible", "--defaults"
    )
    assert result.exit_code == 0, result.output
    answers = (target / ".copier-answers.yml").read_text()
    assert "name: claims_ops" in answers and "app_name: claims-ops-score" in answers and "_commit: v" in answers
    terms = json.loads((target / "src" / "seek_claims_ops" / "terms.json").read_text())
    assert [t["canonical"] for t in terms["terms"]] == ["claim", "adjuster", "deductible"]
    assert 'claims_ops = "seek_claims_ops.plugin"' in (target / "pyproject.toml").read_text()


def test_copier_update_brings_a_later_template_change_into_a_plugin(tmp_path):
    from seek.scaffold import packaged_template, render, template_repo

    if shutil.which("git") is None:
        pytest.skip("copier update needs git")
    source = tmp_path / "template"
    shutil.copytree(packaged_template(), source)
    cache = tmp_path / "cache"
    template_repo("1.0.0", cache, source)
    plugin = tmp_path / "seek-insurance"
    render("insurance", plugin, {}, defaults=True, force=False, version="1.0.0", cache=cache)
    git = ["git", "-C", str(plugin), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", str(plugin)], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "generated"], check=True)
    readme = source / "template" / "README.md.jinja"
    readme.write_text(readme.read_text() + "\nA line the template gained in 1.1.0 for {{ name }}.\n")
    template_repo("1.1.0", cache, source)
    import copier

    copier.run_update(str(plugin), defaults=True, overwrite=True, quiet=True, vcs_ref="v1.1.0")
    assert "A line the template gained in 1.1.0 for insurance." in (plugin / "README.md").read_text()
    assert "_commit: v1.1.0" in (plugin / ".copier-answers.yml").read_text()


@pytest.mark.slow
def test_a_generated_plugin_installs_in_a_fresh_venv_passes_its_tests_and_runs(tmp_path, cache):
    plugin = tmp_path / "seek-insurance"
    done = subprocess.run(
        [sys.executable, "-m", "seek", "new", "domain", "insurance", "--out", str(plugin), "--defaults"],
        capture_output=True,
        text=True,
        env={**os.environ, "SEEK_TEMPLATE_CACHE": str(cache)},
    )
    assert done.returncode == 0, done.stderr
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    # The venv sees this interpreter's packages (seek, torch...) so nothing large is downloaded.
    inner = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], capture_output=True, text=True
    ).stdout.strip()
    outer = [p for p in [*site.getsitepackages(), site.getusersitepackages()] if Path(p).is_dir()]
    (Path(inner) / "_outer.pth").write_text("".join(f"import site; site.addsitedir({p!r})\n" for p in outer))
    pip = [sys.executable, "-m", "pip", "--python", str(python)]
    subprocess.run([*pip, "install", "-q", "--no-deps", "--no-build-isolation", "-e", str(plugin)], check=True)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("PYTHONPATH", None)
    listing = subprocess.run([python, "-m", "seek", "plugins", "list", "--json"], capture_output=True, text=True)
    assert '"distribution": "seek-insurance"' in listing.stdout
    tests = subprocess.run(
        [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(plugin / "tests")],
        capture_output=True,
        text=True,
        cwd=plugin,
        env=env,
        timeout=600,
    )
    assert tests.returncode == 0, tests.stdout[-3000:]
    run = subprocess.run(
        [python, "-m", "seek", "run", "insurance-score", "--out", str(tmp_path / "run"), "--no-progress"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert 0.5 < metrics["auc_roc"] <= 1.0 and metrics["test_records"] > 0
