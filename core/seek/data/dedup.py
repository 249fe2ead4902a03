"""Exact duplicates (key columns or whole rows) and near-duplicate texts (MinHash + LSH, vectorised numpy)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from seek.data.steps import REASON, ROW

if TYPE_CHECKING:
    import numpy as np
    import polars as pl


class ExactDuplicates:
    """Remove every repeat of a row (or of its ``subset`` columns) after the first, naming the row it repeats.

    Keys are compared after normalisation: text stripped of surrounding spaces (typed columns are
    compared as cast). Placed after a SchemaStep it judges only the valid rows, so an invalid first row
    never makes a valid second one a "duplicate".
    """

    def __init__(self, subset: Sequence[str] | None = None, name: str | None = None) -> None:
        self.subset = list(subset) if subset else None
        self.name = name or ("exact_duplicates" if not self.subset else f"exact_duplicates:{','.join(self.subset)}")
        self.checks = f"identical {'rows' if not self.subset else 'values of ' + ', '.join(self.subset)}"

    def apply(self, frame: pl.LazyFrame) -> pl.LazyFrame:
        """Mark rows whose key already appeared in an earlier row."""
        import polars as pl

        schema = frame.collect_schema()
        keys = self.subset or [c for c in schema.names() if not c.startswith("__seek")]
        # Judged after normalisation: " 3" and "3" are one key (typed columns were cast by the schema step).
        normal = [pl.col(k).str.strip_chars() if schema[k] == pl.String else pl.col(k) for k in keys]
        key = normal[0] if len(keys) == 1 else pl.struct(normal)
        data = frame.collect()
        duplicate = data.select(~key.is_first_distinct()).to_series()
        if not duplicate.any():
            return data.with_columns(pl.lit(None, dtype=pl.String).alias(REASON)).lazy()
        bad = data.filter(duplicate)
        names = [f"__seek_key{i}" for i in range(len(keys))]
        normalised = [expr.alias(name) for expr, name in zip(normal, names, strict=True)]
        # Only the keys that repeat are looked up: a small join, not one over the whole frame.
        firsts = (
            data.filter(~duplicate)
            .select(*normalised, pl.col(ROW).alias("__seek_first"))
            .join(bad.select(normalised).unique(), on=names, how="semi", nulls_equal=True)
        )
        reasons = (
            bad.select(normalised)
            .join(firsts, on=names, how="left", nulls_equal=True, maintain_order="left")
            .select(pl.format("duplicate of row {}", "__seek_first").alias(REASON))
        )
        kept = data.filter(~duplicate).with_columns(pl.lit(None, dtype=pl.String).alias(REASON))
        return pl.concat([kept, bad.with_columns(reasons[REASON])], how="vertical").lazy()


def normalise_for_dedup_expr(column: str) -> pl.Expr:
    """Lower-case, drop punctuation and spaces: what near-duplicate detection compares (works for CJK too)."""
    import polars as pl

    return pl.col(column).fill_null("").str.normalize("NFKC").str.to_lowercase().str.replace_all(r"[^\p{L}\p{N}]+", "")


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """A fast, well-mixed 64-bit hash of each element (wrapping uint64 arithmetic)."""
    import numpy as np

    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    mixed: np.ndarray = x ^ (x >> np.uint64(31))
    return mixed


def minhash_signatures(
    texts: Sequence[str] | pl.Series, num_perm: int = 64, shingle: int = 3, seed: int = 0
) -> np.ndarray:
    """MinHash signatures (n_texts x num_perm, uint32) of character ``shingle``-grams, with no per-text Python loop.

    Each permutation is a multiply-shift hash of the shingle's 64-bit hash; texts shorter than
    ``shingle`` are one shingle of their own; empty texts get an all-max signature.
    """
    import numpy as np
    import polars as pl

    series = texts if isinstance(texts, pl.Series) else pl.Series(list(texts), dtype=pl.String)
    series = series.fill_null("")
    lengths = series.str.len_chars().to_numpy().astype(np.int64)
    n = len(lengths)
    signatures = np.empty((n, num_perm), dtype=np.uint32)
    if n == 0:
        return signatures
    # Every text padded with shingle-1 zeros, so a window never mixes two texts.
    joined = (series + "\x00" * (shingle - 1)).str.join("").item()
    codes = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
    del joined
    codes = np.concatenate((codes, np.zeros(shingle, dtype=np.uint32)))
    offsets = np.concatenate(([0], np.cumsum(lengths + shingle - 1)[:-1]))
    windows = np.maximum(lengths - shingle + 1, 1)
    rng = np.random.default_rng(seed)
    mult = rng.integers(0, 2**63, size=num_perm, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    add = rng.integers(0, 2**63, size=num_perm, dtype=np.uint64)
    shift = np.uint64(32)
    # Chunks of about 2**18 shingles keep the working arrays in cache: ~2x faster than one big pass.
    ends = np.searchsorted(np.cumsum(windows), np.arange(1, int(windows.sum()) // 2**18 + 2) * 2**18, side="right")
    lo = 0
    for hi in np.unique(np.clip(np.append(ends, n), 1, n)):
        w = windows[lo:hi]
        seg = np.cumsum(w) - w
        starts = np.repeat(offsets[lo:hi], w) + (np.arange(int(w.sum())) - np.repeat(seg, w))
        hashed = np.zeros(len(starts), dtype=np.uint64)
        for j in range(shingle):
            hashed = _splitmix64(hashed ^ codes[starts + j].astype(np.uint64))
        for p in range(num_perm):
            signatures[lo:hi, p] = np.minimum.reduceat((hashed * mult[p] + add[p]) >> shift, seg)
        lo = hi
    signatures[lengths == 0] = np.iinfo(np.uint32).max
    return signatures


def lsh_bands(num_perm: int, threshold: float, recall: float = 0.95) -> tuple[int, int]:
    """Choose (bands, rows), bands*rows <= num_perm: the longest bands that still catch a pair at ``threshold``.

    A pair with Jaccard ``threshold`` shares at least one whole band with probability
    1 - (1 - threshold**rows)**bands; longer bands propose fewer dissimilar candidates to verify.
    """
    best = (num_perm, 1)
    for rows in range(1, num_perm + 1):
        bands = num_perm // rows
        if 1 - (1 - threshold**rows) ** bands >= recall:
            best = (bands, rows)
    return best


def near_duplicate_groups(
    signatures: np.ndarray, threshold: float = 0.8, bands: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """For each text: the index of the first text of its near-duplicate cluster, and the estimated Jaccard to it.

    LSH buckets propose candidates (each bucket member paired with the bucket's first member; see
    :func:`lsh_bands`); a pair is kept when the fraction of equal MinHash values reaches ``threshold``.
    Clusters are connected components, so in a chain A~B~C the text C joins A's cluster even when C and
    A alone are less similar; the Jaccard returned is the estimate against the cluster's first text.
    """
    import numpy as np
    import polars as pl
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n, num_perm = signatures.shape
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    if bands is None:
        bands, rows = lsh_bands(num_perm, threshold)
    else:
        rows = num_perm // bands
    empty = (signatures == np.iinfo(np.uint32).max).all(axis=1)
    left: list[np.ndarray] = []
    right: list[np.ndarray] = []
    ids = np.arange(n)
    for band in range(bands):
        block = signatures[:, band * rows : (band + 1) * rows]
        key = np.zeros(n, dtype=np.uint64)
        for column in range(rows):
            key = _splitmix64(key ^ block[:, column].astype(np.uint64))
        frame = pl.DataFrame({"key": key, "id": ids}).filter(pl.Series(~empty))
        firsts = frame.with_columns(pl.col("id").min().over("key").alias("first")).filter(
            pl.col("id") != pl.col("first")
        )
        left.append(firsts["first"].to_numpy())
        right.append(firsts["id"].to_numpy())
    # Pairs as one int64 code each: a 1-D unique is far cheaper than a row-wise one.
    codes = (
        pl.Series(np.concatenate(left) * n + np.concatenate(right)).unique().to_numpy()
        if left
        else np.zeros(0, dtype=np.int64)
    )
    a, b = codes // n, codes % n
    keep = _agreement(signatures, a, b) >= threshold
    a, b = a[keep], b[keep]
    graph = coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    first_of_label = np.full(labels.max() + 1, n, dtype=np.int64)
    np.minimum.at(first_of_label, labels, ids)
    group = first_of_label[labels]
    jaccard = np.ones(n)
    moved = np.flatnonzero(group != ids)
    jaccard[moved] = _agreement(signatures, group[moved], moved)
    return group, jaccard


def _agreement(signatures: np.ndarray, a: np.ndarray, b: np.ndarray, chunk: int = 1 << 16) -> np.ndarray:
    """Fraction of equal MinHash values per pair (a[i], b[i]), in chunks so memory stays flat."""
    import numpy as np

    out = np.empty(len(a))
    for start in range(0, len(a), chunk):
        stop = start + chunk
        out[start:stop] = (signatures[a[start:stop]] == signatures[b[start:stop]]).mean(axis=1)
    return out


class NearDuplicates:
    """Remove texts whose normalised character shingles have estimated Jaccard >= ``threshold`` to an earlier text."""

    def __init__(
        self,
        column: str = "text",
        threshold: float = 0.8,
        num_perm: int = 64,
        shingle: int = 3,
        bands: int | None = None,
        seed: int = 0,
    ) -> None:
        if not 0 < threshold <= 1:
            raise ValueError(f"threshold must be in (0, 1], got {threshold}")
        self.column, self.threshold, self.num_perm, self.shingle = column, threshold, num_perm, shingle
        self.bands, self.seed = bands, seed
        self.name = f"near_duplicates:{column}"
        self.checks = (
            f"texts in {column!r} whose {shingle}-character shingles reach Jaccard {threshold} "
            f"(MinHash, {num_perm} permutations) with an earlier text"
        )

    def apply(self, frame: pl.LazyFrame) -> pl.LazyFrame:
        """Compute signatures for the column and mark every text after the first of its cluster."""
        import numpy as np
        import polars as pl

        data = frame.collect()
        normalised = data.select(normalise_for_dedup_expr(self.column)).to_series()
        signatures = minhash_signatures(normalised, self.num_perm, self.shingle, self.seed)
        group, jaccard = near_duplicate_groups(signatures, self.threshold, self.bands)
        rows = data[ROW].to_numpy()
        duplicate = group != np.arange(len(group))
        info = pl.DataFrame({"first": rows[group], "jaccard": np.round(jaccard, 2), "dup": duplicate})
        reason = pl.when(pl.col("dup")).then(pl.format("near-duplicate of row {} (jaccard {})", "first", "jaccard"))
        return pl.concat([data, info.select(reason.otherwise(None).alias(REASON))], how="horizontal").lazy()
