"""Rows/s and peak memory of the seek.data pipeline (polars) against pandas doing the same steps, in one run.

    python benchmarks/bench_data_pipeline.py --texts 1000000 --rows 10000000 --out benchmarks/results/data_pipeline.md

Each side runs in its own subprocess (POLARS_MAX_THREADS=2) and reports ru_maxrss; the input files are
generated once beforehand and the timed work is read parquet -> every step -> write cleaned + rejected.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORDS = [
    "card",
    "payment",
    "fraud",
    "merchant",
    "refund",
    "chargeback",
    "account",
    "transfer",
    "balance",
    "limit",
    "nodule",
    "lung",
    "scan",
    "report",
    "shipment",
    "pickup",
    "delivery",
    "port",
    "freight",
    "customs",
    "invoice",
]
CJK = "今天天气很好我们去公园散步吧货物已经到达港口请及时提货肺部结节需要复查"
NOW = dt.datetime(2026, 1, 1)


def make_texts(n: int, path: Path, seed: int = 0) -> None:
    """Short texts: some HTML, duplicates, near-duplicates, symbol junk, too short, CJK."""
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(seed)
    words = np.array(WORDS)
    picks = words[rng.integers(0, len(words), size=(n, 8))]
    base = pl.DataFrame({f"w{i}": picks[:, i] for i in range(8)}).select(
        pl.concat_str(pl.all(), separator=" ").alias("text")
    )["text"]
    kind = rng.random(n)
    cjk_start = rng.integers(0, len(CJK) - 12, size=n)
    cjk = pl.Series([CJK]).extend_constant(CJK, n - 1).str.slice(pl.Series(cjk_start), 12)
    text = (
        pl.DataFrame({"base": base, "kind": kind, "cjk": cjk, "id": np.arange(n)})
        .with_columns(
            pl.when(pl.col("kind") < 0.10)
            .then(pl.lit("<p>") + pl.col("base") + pl.lit(" &amp; more</p>"))
            .when(pl.col("kind") < 0.15)
            .then(pl.col("base").shift(1).fill_null("x"))  # exact duplicate
            .when(pl.col("kind") < 0.20)
            .then(pl.col("base").shift(1).fill_null("x") + pl.lit("!"))  # near duplicate
            .when(pl.col("kind") < 0.22)
            .then(pl.lit("$$$ ### @@@ !!! ") + pl.col("base").str.slice(0, 5))
            .when(pl.col("kind") < 0.24)
            .then(pl.lit("ok"))
            .when(pl.col("kind") < 0.34)
            .then(pl.col("cjk"))
            .otherwise(pl.col("base"))
            .alias("text")
        )
        .select("id", "text")
    )
    text.write_parquet(path)


def make_table(n: int, path: Path, seed: int = 1) -> None:
    """Transactions: ids with repeats and gaps, amounts with NaN/negatives, timestamps as text (some bad/future)."""
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(seed)
    ids = rng.permutation(n).astype("float64")
    repeat = rng.random(n) < 0.01
    ids[repeat] = ids[rng.integers(0, n, size=int(repeat.sum()))]
    ids[rng.random(n) < 0.001] = np.nan
    amount = np.round(rng.gamma(2.0, 40.0, size=n), 2)
    amount[rng.random(n) < 0.002] = np.nan
    amount[rng.random(n) < 0.002] *= -1
    seconds = rng.integers(0, 365 * 86400, size=n)
    frame = pl.DataFrame(
        {
            "tx_id": ids,
            "amount": amount,
            "seconds": seconds,
            "mcc": rng.choice(["5411", "5812", "4111", "7995", "????"], size=n, p=[0.4, 0.3, 0.2, 0.099, 0.001]),
        }
    )
    frame = frame.with_columns(
        pl.col("tx_id").fill_nan(None).cast(pl.Int64),
        (pl.lit(dt.datetime(2025, 1, 1)) + pl.duration(seconds=pl.col("seconds")))
        .dt.strftime("%Y-%m-%d %H:%M:%S")
        .alias("timestamp"),
    ).drop("seconds")
    bad = rng.random(n)
    frame = frame.with_columns(
        pl.when(pl.Series(bad < 0.001))
        .then(pl.lit("not a date"))
        .when(pl.Series(bad > 0.999))
        .then(pl.lit("2031-05-05 00:00:00"))
        .otherwise(pl.col("timestamp"))
        .alias("timestamp")
    )
    frame.write_parquet(path)


# -- the two sides -----------------------------------------------------------------------------------


def run_seek(kind: str, src: Path, out: Path) -> dict:
    import polars as pl

    from seek.data.dedup import ExactDuplicates, NearDuplicates
    from seek.data.schema import Field, Schema, SchemaStep
    from seek.data.steps import Pipeline
    from seek.data.text import text_steps

    frame = pl.read_parquet(src)
    if kind == "text":
        steps = [*text_steps("text", min_chars=5), ExactDuplicates(["text"]), NearDuplicates("text", threshold=0.8)]
    else:
        schema = Schema(
            [
                Field("tx_id", "int", required=True),
                Field("amount", "float", required=True, min=0),
                Field("timestamp", "datetime", required=True, not_future=True, format="%Y-%m-%d %H:%M:%S"),
                Field("mcc", "str", required=True, pattern="[0-9]{4}"),
            ]
        )
        steps = [SchemaStep(schema, now=NOW), ExactDuplicates(["tx_id"])]
    result = Pipeline(steps).run(frame)
    result.kept.write_parquet(out / "kept.parquet")
    result.rejected.write_parquet(out / "rejected.parquet")
    return {"kept": result.kept.height, "rejected": result.rejected.height}


def run_pandas(kind: str, src: Path, out: Path) -> dict:
    import html
    import re

    import numpy as np
    import pandas as pd

    df = pd.read_parquet(src)
    rejected = []
    if kind == "text":
        t = df["text"]
        t = t.str.replace(r"(?is)<(script|style)\b[^>]*>.*?</(script|style)\s*>", " ", regex=True)
        t = t.str.replace(r"(?s)<!--.*?-->", " ", regex=True).str.replace(r"<[A-Za-z/!][^<>]*>", " ", regex=True)
        t = t.map(html.unescape)
        t = t.str.normalize("NFKC").str.replace(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]", "", regex=True)
        df["text"] = t.str.replace(r"\s+", " ", regex=True).str.strip()
        length = df["text"].str.len()
        bad = length < 5
        rejected.append(df[bad])
        df = df[~bad]
        symbols = df["text"].str.count(r"[^\w\s]") / df["text"].str.len().clip(lower=1)
        bad = symbols > 0.3
        rejected.append(df[bad])
        df = df[~bad]
        letters = df["text"].str.count(r"[^\W\d_]")
        latin_or_han = df["text"].str.count(r"[A-Za-z\u00c0-\u024f\u4e00-\u9fff]")
        bad = (letters > 0) & (latin_or_han / letters.clip(lower=1) < 0.6)
        rejected.append(df[bad])
        df = df[~bad]
        bad = df.duplicated(subset=["text"])
        rejected.append(df[bad])
        df = df[~bad]
        # No pandas-native MinHash exists: both sides share seek's numpy kernel for the signatures.
        from seek.data.dedup import minhash_signatures, near_duplicate_groups

        norm = df["text"].str.normalize("NFKC").str.lower().str.replace(r"[\W_]+", "", regex=True)
        import polars as pl

        group, _ = near_duplicate_groups(
            minhash_signatures(pl.Series(norm.to_numpy(dtype=object), dtype=pl.String)), 0.8
        )
        bad = pd.Series(group != np.arange(len(group)), index=df.index)
        rejected.append(df[bad])
        df = df[~bad]
        del re
    else:
        tx = pd.to_numeric(df["tx_id"], errors="coerce")
        amount = pd.to_numeric(df["amount"], errors="coerce")
        ts = pd.to_datetime(df["timestamp"], format="%Y-%m-%d %H:%M:%S", errors="coerce")
        bad = (
            tx.isna()
            | amount.isna()
            | (amount < 0)
            | ts.isna()
            | (ts > pd.Timestamp(NOW))
            | ~df["mcc"].astype(str).str.fullmatch(r"[0-9]{4}")
        )
        df = df.assign(tx_id=tx, amount=amount, timestamp=ts)
        rejected.append(df[bad])
        df = df[~bad]
        bad = df.duplicated(subset=["tx_id"])
        rejected.append(df[bad])
        df = df[~bad]
    rej = pd.concat(rejected)
    df.to_parquet(out / "kept.parquet")
    rej.astype(str).to_parquet(out / "rejected.parquet")
    return {"kept": len(df), "rejected": len(rej)}


def child(side: str, kind: str, src: str, out: str) -> None:
    start = time.perf_counter()
    counts = (run_seek if side == "seek" else run_pandas)(kind, Path(src), Path(out))
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mb": peak_mb, **counts}))


def measure(side: str, kind: str, src: Path, timeout: float) -> dict:
    env = dict(os.environ, POLARS_MAX_THREADS="2", OMP_NUM_THREADS="2", OPENBLAS_NUM_THREADS="2")
    with tempfile.TemporaryDirectory() as out:
        try:
            proc = subprocess.run(
                [sys.executable, __file__, "--child", side, kind, str(src), out],
                capture_output=True,
                text=True,
                env=env,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            return {"error": f"did not finish within {timeout:.0f} s"}
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit {proc.returncode}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--texts", type=int, default=1_000_000)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--out", default="benchmarks/results/data_pipeline.md")
    parser.add_argument(
        "--kinds", default="text,tabular", help="Which benchmarks to (re)run; others come from --cache."
    )
    parser.add_argument(
        "--cache", default="benchmarks/results/data_pipeline.json", help="Measured results, merged per kind."
    )
    parser.add_argument("--child", nargs=4, metavar=("SIDE", "KIND", "SRC", "OUT"))
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    from seek.io import atomic_write_json

    cache = Path(args.cache)
    measured = json.loads(cache.read_text()) if cache.exists() else {}
    wanted = {k.strip() for k in args.kinds.split(",")}
    with tempfile.TemporaryDirectory() as tmp:
        for kind, n, make in (("text", args.texts, make_texts), ("tabular", args.rows, make_table)):
            if kind not in wanted:
                continue
            src = Path(tmp) / f"{kind}.parquet"
            make(n, src)
            results = {side: measure(side, kind, src, args.timeout) for side in ("seek", "pandas")}
            print(kind, n, results, flush=True)
            measured[kind] = {"rows": n, "results": results, "date": f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC"}
            atomic_write_json(cache, measured)
    lines = [
        (kind, measured[kind]["rows"], measured[kind]["results"], measured[kind]["date"])
        for kind in ("text", "tabular")
        if kind in measured
    ]
    write_table(lines, args)


def write_table(lines: list, args: argparse.Namespace) -> None:
    from seek.io import atomic_write_text

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    rows = [
        "| data | rows | side | seconds | rows/s | peak RSS (MB) | kept | rejected |",
        "|---|---|---|---|---|---|---|---|",
    ]
    ratios = []
    for kind, n, results, _ in lines:
        for side in ("seek", "pandas"):
            r = results[side]
            if "error" in r:
                rows.append(f"| {kind} | {n:,} | {side} | - | - | - | - | {r['error']} |")
                continue
            rows.append(
                f"| {kind} | {n:,} | {side} (polars) | {r['seconds']:.1f} | {n / r['seconds']:,.0f} | "
                f"{r['peak_mb']:,.0f} | {r['kept']:,} | {r['rejected']:,} |".replace("pandas (polars)", "pandas")
            )
        if "error" not in results["seek"] and "error" not in results["pandas"]:
            ratios.append(
                f"- {kind}: seek is {results['pandas']['seconds'] / results['seek']['seconds']:.1f}x faster "
                f"than pandas; peak memory ratio pandas/seek "
                f"{results['pandas']['peak_mb'] / results['seek']['peak_mb']:.2f}"
            )
    text = "\n".join(
        [
            "# Data pipeline: seek.data (polars) vs pandas, same steps",
            "",
            f"Command: `python benchmarks/bench_data_pipeline.py --texts {args.texts} --rows {args.rows}`  ",
            f"Machine: {cpu}, 2 cores (POLARS_MAX_THREADS=2); other engineers' jobs were sharing the 2 cores, so "
            "absolute times are noisy.  ",
            "Dates: " + ", ".join(f"{kind} measured {date}" for kind, _, _, date in lines),
            "",
            "Timed per side, each in its own subprocess: read parquet -> every step -> write kept + rejected parquet. "
            "Peak memory is the subprocess's ru_maxrss (includes the interpreter and libraries).",
            "",
            "- text steps: strip HTML + entities, NFKC/control characters/whitespace, length >= 5, "
            "symbol ratio <= 0.3, "
            "script check (Latin/Han), exact duplicates, near duplicates (MinHash 64 permutations, 3-char shingles, "
            "Jaccard >= 0.8). pandas has no MinHash, so its side calls the same numpy MinHash/LSH kernel; "
            "the difference "
            "there is in frame operations only.",
            "- tabular steps: schema (tx_id int required, amount float >= 0 not NaN, "
            "timestamp parsed with a format and "
            "not in the future, mcc four digits), then exact duplicates on tx_id.",
            "",
            *rows,
            "",
            *ratios,
            "",
            "Notes: the load average on the 2 cores was 7-10 during these runs (other engineers' tests and "
            "benchmarks), so both sides ran slower than on an idle machine; they ran one after the other under "
            "similar load. On text, most of the time is MinHash signatures and LSH (shared by both sides), so the "
            "ratio understates the frame-operation difference. The text corpus draws 8 words from a 20-word "
            "vocabulary, so texts overlap far more than real ones and LSH proposes many candidate pairs. "
            "Near-duplicate clusters are connected components over verified pairs (each bucket member is checked "
            "against the bucket's first text).",
            "",
        ]
    )
    atomic_write_text(args.out, text)
    print(text)


if __name__ == "__main__":
    main()
