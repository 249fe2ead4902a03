"""Entry point of the ``seek`` plugin group: the logistics app, its term dictionary and `seek logistics`."""

from __future__ import annotations

from typing import Any

import click

from seek import hookimpl


@hookimpl
def seek_apps() -> list[Any]:
    """The logistics vertical's apps."""
    from seek_logistics.app import LogisticsApp

    return [LogisticsApp()]


@hookimpl
def seek_term_dictionaries() -> list[Any]:
    """The logistics term dictionary (service levels, incoterms-like shipping vocabulary)."""
    from seek.data.terms import TermDictionary

    return [TermDictionary.from_package("seek_logistics", "terms.json")]


@hookimpl
def seek_commands(cli: click.Group) -> None:
    """``seek logistics simulate``: write simulated quarters to a file (e.g. the next quarter for seek update)."""

    @cli.group("logistics")
    def logistics() -> None:
        """Logistics vertical tools."""

    @logistics.command("simulate")
    @click.option("--quarter", "quarters", type=int, multiple=True, required=True, help="1-based quarter; repeatable.")
    @click.option("--out", required=True, type=click.Path(dir_okay=False), help="A .parquet or .csv file.")
    @click.option("--shipments", type=int, default=3000, show_default=True, help="Shipments per quarter.")
    @click.option("--seed", type=int, default=0, show_default=True, help="Simulator seed (as in the run's config).")
    @click.option("--start-year", type=int, default=2024, show_default=True)
    def simulate_command(quarters: tuple[int, ...], out: str, shipments: int, seed: int, start_year: int) -> None:
        """Simulate the given quarters of the built-in stream (quarter 5 = the first of the second year)."""
        import polars as pl

        from seek.errors import ConfigError
        from seek_logistics.simulate import SimulatorConfig, simulate_quarter

        if any(q < 1 for q in quarters):
            raise ConfigError("--quarter: quarters count from 1")
        config = SimulatorConfig(max(quarters), shipments, seed, start_year)
        frame = pl.concat([simulate_quarter(config, q - 1) for q in quarters])
        if out.endswith(".csv"):
            frame.write_csv(out)
        else:
            frame.write_parquet(out)
        click.echo(f"{frame.height:,} shipments -> {out}")
