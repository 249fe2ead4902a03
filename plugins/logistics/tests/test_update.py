"""``seek update logistics-eta``: chained quarters, constant memory with online EWC, drift, schema refusal."""

from __future__ import annotations

import pytest

from seek.testing import PluginHarness

BASE = [
    "--set",
    "simulator.quarters=2",
    "--set",
    "simulator.shipments_per_quarter=300",
    "--set",
    "train.epochs=3",
    "--set",
    "continual.lambdas=[10.0]",
    "--set",
    "continual.fisher_samples=64",
    "--set",
    'strategies=["naive","online-ewc","ewc"]',
]


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory):
    """A 2-quarter run, then Q3, Q4 and Q5 (next year's Q1) as three chained online-EWC updates."""
    from seek_logistics import plugin
    from seek_logistics.simulate import SimulatorConfig, simulate_quarter

    root = tmp_path_factory.mktemp("chain")
    harness = PluginHarness()
    if "logistics-eta" not in {a.name for a in harness.manager.apps()}:
        harness.register(plugin, name="logistics")
    result = harness.invoke("run", "logistics-eta", *BASE, "--out", str(root / "run"), "--no-progress")
    assert result.exit_code == 0, result.output
    config = SimulatorConfig(quarters=5, shipments_per_quarter=300)
    parents = [root / "run"]
    for q in (2, 3, 4):
        path = root / f"q{q + 1}.parquet"
        simulate_quarter(config, q).write_parquet(path)
        out = root / f"u{q + 1}"
        args = ["update", "logistics-eta", "--from", str(parents[-1]), "--data", str(path), "--out", str(out)]
        result = harness.invoke(*args, "--no-progress")
        assert result.exit_code == 0, result.output
        parents.append(out)
    return harness, root, parents


@pytest.mark.slow
def test_chained_online_ewc_updates_keep_memory_constant(chain) -> None:
    from seek.runs import load_run

    _, _, runs = chain
    sizes = [load_run(r).metrics["state_bytes"] for r in runs[1:]]
    assert sizes[0] == sizes[1] == sizes[2] > 0
    assert all(load_run(r).metrics["state_terms"] == 1 for r in runs[1:])


@pytest.mark.slow
def test_each_update_has_lineage_drift_and_decay_on_every_kept_quarter(chain) -> None:
    from seek.io import sha256_file
    from seek.runs import load_run

    _, root, runs = chain
    last = load_run(runs[-1])
    lineage = last.read_json("lineage.json")
    assert lineage["generation"] == 3 and len(lineage["ancestors"]) == 2
    assert lineage["parent"]["manifest_sha256"] == sha256_file(runs[-2] / "manifest.json")
    assert lineage["data"]["sha256"] == sha256_file(root / "q5.parquet")
    assert lineage["state_files"] == {"state-online-ewc": "continual/online-ewc.safetensors"}
    metrics = last.metrics
    for quarter in ("2024q1", "2024q2", "2024q3", "2024q4"):
        assert f"decay_{quarter}" in metrics and f"mae_{quarter}" in metrics
    assert metrics["drift_psi_weather"] > 0.1  # winter after autumn: snow returns, storms recede
    report = last.file("report.md").read_text()
    assert "Drift of the new quarter against the last" in report and "Lineage" in report
    q3 = load_run(runs[1]).metrics
    assert q3["categories_added"] >= 1  # the Coast region opens in Q3


@pytest.mark.slow
def test_update_refuses_a_changed_schema_and_a_missing_branch(chain) -> None:
    import polars as pl

    harness, root, runs = chain
    bad = root / "bad.parquet"
    pl.read_parquet(root / "q5.parquet").with_columns(pl.col("distance_km").cast(pl.String)).write_parquet(bad)
    result = harness.invoke("update", "logistics-eta", "--from", str(runs[-1]), "--data", str(bad))
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 1 and len(lines) == 1
    assert "field 'distance_km' is text here but number" in lines[0]
    result = harness.invoke(
        "update", "logistics-eta", "--from", str(runs[-1]), "--data", str(root / "q5.parquet"), "--strategy", "replay"
    )
    assert result.exit_code == 1 and "keeps no replay branch" in result.stderr
