"""Features for data larger than memory, partitioned by entity: the same values as ``compute_features``.

Every feature family looks at the earlier rows of one entity only: card windows, time since the previous
payment, geo and behaviour at the card (``customer_id``), terminal windows and terminal risk at the terminal
(``terminal_id``), device windows and customers per device at the device (``device_id``). So the rows are
split into ``parts`` by a hash of that entity and ``compute_features`` runs on each part as it is: a part
holds all the rows of its entities, nothing is recomputed (unlike time chunks, which repeat their window
context). Each of the three passes keeps the features it owns (``term_*`` from the terminal pass,
``device_*`` from the device pass, the rest from the card pass) and runs with the other families' windows
emptied, so it does not compute what another pass owns. New features in ``compute_features`` come along as
long as a ``term_``/``device_`` name depends only on its terminal/device and every other feature only on the
card (the test compares every column with the in-memory path).

Steps, with one part (or one slice of the input) in memory at a time: (1) each row's global position in
(timestamp, transaction_id) order; (2) the input read slice by slice, each slice scattered into the parts
of each pass (parquet, with the global position); (3) each part's features computed and written sorted by
position; (4) the output assembled chunk by chunk of position, each part read from the offsets where the
chunk starts (a slice of a sorted file).
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from seek_finance.app import FeatureConfig

if TYPE_CHECKING:
    import polars as pl

#: The global row position in (timestamp, transaction_id) order, carried through every pass.
ROW = "_seek_row"
_EMPTY_CUSTOMER: dict[str, list[object]] = {"customer_windows": [], "distinct_windows": [], "ratio_windows": []}
_EMPTY_TERMINAL: dict[str, list[object]] = {"terminal_windows": [], "risk_windows": []}


def _passes(columns: list[str], cfg: FeatureConfig) -> list[tuple[str, str, list[str], FeatureConfig]]:
    """(name, key, input columns, config) of each pass the frame's modalities need."""
    base = [c for c in ("transaction_id", "timestamp", "customer_id", "terminal_id", "amount") if c in columns]
    passes = [
        ("customer", "customer_id", list(columns), cfg.model_copy(update={**_EMPTY_TERMINAL, "device_windows": []}))
    ]
    labels = ["is_fraud"] if "is_fraud" in columns else []
    terminal_cfg = cfg.model_copy(update={**_EMPTY_CUSTOMER, "device_windows": []})
    passes.append(("terminal", "terminal_id", base + labels, terminal_cfg))
    if "device_id" in columns:
        device_cfg = cfg.model_copy(update={**_EMPTY_CUSTOMER, **_EMPTY_TERMINAL})
        passes.append(("device", "device_id", [*base, "device_id"], device_cfg))
    return passes


def _owner(name: str) -> str:
    """The pass whose entity a feature depends on, from its name."""
    return "terminal" if name.startswith("term_") else "device" if name.startswith("device_") else "customer"


def row_positions(source: pl.LazyFrame) -> pl.Series:
    """Each input row's position in (timestamp, transaction_id) order, in input order."""
    import numpy as np
    import polars as pl

    keys = source.select("timestamp", "transaction_id").collect()
    order = keys.select(pl.arg_sort_by("timestamp", "transaction_id")).to_series().to_numpy()
    del keys
    rank = np.empty(order.size, dtype=np.int64)
    rank[order] = np.arange(order.size, dtype=np.int64)
    return pl.Series(ROW, rank)


def compute_features_partitioned(
    source: pl.LazyFrame,
    work: Path,
    cfg: FeatureConfig | None = None,
    rows_per_part: int = 2_500_000,
    slice_rows: int = 4_000_000,
    chunk_rows: int = 2_000_000,
) -> Iterator[pl.DataFrame]:
    """Yield the features in (timestamp, transaction_id) order, chunk by chunk of ``chunk_rows`` rows.

    ``work`` holds the intermediate parts (removed at the end); its disk need is about three times the input.
    """
    import polars as pl

    from seek_finance.features import feature_names

    cfg = cfg or FeatureConfig()
    columns = source.collect_schema().names()
    missing = {"transaction_id", "timestamp", "customer_id", "terminal_id", "amount"} - set(columns)
    if missing:
        raise ValueError(f"the input lacks column(s) {sorted(missing)}")
    names = feature_names(columns, cfg)
    passes = _passes(columns, cfg)
    n = source.select(pl.len()).collect().item()
    if n <= rows_per_part:  # one part holds everything: the in-memory path is the same work, less I/O
        from seek_finance.features import compute_features

        whole = compute_features(source.collect(), cfg)
        yield from (whole.slice(a, chunk_rows) for a in range(0, n, chunk_rows))
        return
    positions = row_positions(source)
    parts = math.ceil(n / rows_per_part)
    work.mkdir(parents=True, exist_ok=True)
    try:
        _scatter(source, positions, passes, parts, work, slice_rows)
        del positions
        for name, _key, _cols, pass_cfg in passes:
            mine = [f for f in names if _owner(f) == name]
            for p in range(parts):
                folder = work / name / f"{p:04d}"
                feats = _pass_features(name, pl.read_parquet(folder / "*.parquet"), pass_cfg, mine)
                lost = [f for f in mine if f not in feats.columns]
                if lost:
                    raise RuntimeError(f"the {name} pass does not produce {lost}: features.py changed its families")
                keep = [c for c in feats.columns if c not in names or c in mine] if name == "customer" else [ROW, *mine]
                feats.select(keep).write_parquet(
                    work / name / f"{p:04d}.parquet", compression="lz4", row_group_size=100_000
                )
                shutil.rmtree(folder)
        yield from _assemble(work, passes, parts, n, chunk_rows, [c for c in columns if c not in names] + names)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _pass_features(name: str, frame: pl.DataFrame, cfg: FeatureConfig, mine: list[str]) -> pl.DataFrame:
    """One part's features of one pass, sorted by position.

    The terminal and device passes call their families' functions directly (``compute_features`` would also
    sort and window by card for nothing); if those no longer give every feature the pass owns, the pass
    falls back to ``compute_features``. The card pass hides the labels when no card feature needs them
    (terminal risk, the only label family, belongs to the terminal pass).
    """
    import polars as pl

    from seek_finance import features as F

    frame = frame.sort(ROW)
    if name in ("terminal", "device"):
        family = frame.with_columns(pl.col(ROW).alias("_row"))
        try:
            if name == "terminal":
                found = [F._entity_windows(family, "terminal_id", "term", cfg.terminal_windows, ("count",))]
                if "is_fraud" in frame.columns:
                    found.append(F._terminal_risk(family, cfg))
            else:
                found = [F._entity_windows(family, "device_id", "device", cfg.device_windows, ("count",))]
                found.append(F._device_customers(family))
        except (AttributeError, TypeError):  # a family function renamed or re-signed in features.py
            found = []
        out = frame.select(ROW).hstack([c for part in found for c in part.drop("_row").get_columns()])
        if set(mine) <= set(out.columns):
            return out
    hide = "is_fraud" in frame.columns and name == "customer" and _labels_unused(frame.columns, cfg, mine)
    if hide:
        frame = frame.rename({"is_fraud": "_seek_label"})
    feats = F.compute_features(frame, cfg)
    return feats.rename({"_seek_label": "is_fraud"}) if hide else feats


def _labels_unused(columns: list[str], cfg: FeatureConfig, mine: list[str]) -> bool:
    """Whether the card pass's features are the same without the label column."""
    from seek_finance.features import feature_names

    without = [c for c in columns if c != "is_fraud"]
    return [f for f in feature_names(columns, cfg) if f in mine] == [
        f for f in feature_names(without, cfg) if f in mine
    ]


def _scatter(
    source: pl.LazyFrame,
    positions: pl.Series,
    passes: list[tuple[str, str, list[str], FeatureConfig]],
    parts: int,
    work: Path,
    slice_rows: int,
) -> None:
    """Write each slice of the input into the parts of every pass, with the global position."""
    import polars as pl

    n = positions.len()
    for s, offset in enumerate(range(0, n, slice_rows)):
        frame = source.slice(offset, slice_rows).collect().with_columns(positions.slice(offset, slice_rows))
        for name, key, cols, _cfg in passes:
            sub = frame.select(*cols, ROW)
            groups: dict[int, pl.DataFrame] = {0: sub}
            if parts > 1:
                sub = sub.with_columns((pl.col(key).hash(seed=17) % parts).alias("_part"))
                split = sub.partition_by("_part", as_dict=True, include_key=False)
                groups = {int(k[0]): g for k, g in split.items()}  # type: ignore[call-overload]
            for p in range(parts):  # every part gets a (typed, maybe empty) file from every slice
                folder = work / name / f"{p:04d}"
                folder.mkdir(parents=True, exist_ok=True)
                groups.get(p, sub.head(0).drop("_part", strict=False)).write_parquet(
                    folder / f"{s:05d}.parquet", compression="lz4"
                )
        del frame


def _assemble(
    work: Path,
    passes: list[tuple[str, str, list[str], FeatureConfig]],
    parts: int,
    n: int,
    chunk_rows: int,
    order: list[str],
) -> Iterator[pl.DataFrame]:
    """Join the passes' parts chunk by chunk of global position, reading only each chunk's rows of a part."""
    import numpy as np
    import polars as pl

    edges = np.arange(0, n + chunk_rows, chunk_rows).clip(max=n)
    edges = np.unique(edges)
    starts: dict[tuple[str, int], np.ndarray] = {}
    for name, *_ in passes:
        for p in range(parts):
            rows = pl.read_parquet(work / name / f"{p:04d}.parquet", columns=[ROW]).to_series().to_numpy()
            if rows.size and not (np.diff(rows) > 0).all():
                raise RuntimeError(f"part {p} of the {name} pass is not in row order")
            starts[name, p] = np.searchsorted(rows, edges)
    for i in range(len(edges) - 1):
        pieces: list[pl.DataFrame] = []
        for name, *_ in passes:
            frames = []
            for p in range(parts):
                a, b = starts[name, p][i], starts[name, p][i + 1]
                if b > a:
                    frames.append(pl.scan_parquet(work / name / f"{p:04d}.parquet").slice(int(a), int(b - a)).collect())
            merged = pl.concat(frames).sort(ROW)
            expected = edges[i + 1] - edges[i]
            if merged.height != expected:
                raise RuntimeError(f"the {name} pass has {merged.height} rows for a chunk of {expected}")
            pieces.append(merged if not pieces else merged.drop(ROW))
        yield pl.concat(pieces, how="horizontal").select(order)


def write_features(
    source: Path, out: Path, cfg: FeatureConfig | None = None, work: Path | None = None, rows_per_part: int = 2_500_000
) -> int:
    """Features of a parquet file of payments (canonical columns) into one parquet file, atomically; the row count."""
    import polars as pl

    from seek.data.frames import write_parquet_frames

    if not source.is_file():
        raise FileNotFoundError(f"no such payments file: {source}")
    work = work or out.with_name(out.name + ".parts")

    return write_parquet_frames(
        compute_features_partitioned(pl.scan_parquet(source), work, cfg, rows_per_part=rows_per_part), out
    )


def main(argv: list[str] | None = None) -> None:
    """``python -m seek_finance.partitioned PAYMENTS.parquet FEATURES.parquet``: features of a large file."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(prog="python -m seek_finance.partitioned", description=main.__doc__)
    parser.add_argument("source", type=Path, help="payments parquet (transaction_id, timestamp, customer_id, ...)")
    parser.add_argument("out", type=Path, help="features parquet to write")
    parser.add_argument("--rows-per-part", type=int, default=2_500_000, help="rows per part (memory ~0.7 GB per 1 M)")
    args = parser.parse_args(argv)
    try:
        rows = write_features(args.source, args.out, rows_per_part=args.rows_per_part)
    except (FileNotFoundError, ValueError) as exc:
        sys.exit(f"seek_finance.partitioned: {exc}")
    print(f"{rows} payments -> {args.out}")


if __name__ == "__main__":
    main()
