"""Stage 2 augmentation: splits assigned first, synonym replacement and back-translation applied to train rows only."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from seek.data.terms import Term, TermDictionary
from seek.errors import ConfigError, DataError

if TYPE_CHECKING:
    import polars as pl

AUGMENTED = "augmented"
AUGMENTED_FROM = "augmented_from"
AUGMENTED_BY = "augmented_by"
SPLIT = "split"


def assign_splits(
    frame: pl.DataFrame,
    fractions: Mapping[str, float] | None = None,
    seed: int = 0,
    group: str | None = None,
    column: str = SPLIT,
) -> pl.DataFrame:
    """Add a ``split`` column (train/validation/test by default 0.8/0.1/0.1), reproducible from ``seed``.

    With ``group`` all rows sharing that column's value land in one split, so near-identical records of
    one customer or patient cannot straddle train and test.
    """
    import polars as pl

    fractions = dict(fractions or {"train": 0.8, "validation": 0.1, "test": 0.1})
    total = sum(fractions.values())
    if abs(total - 1) > 1e-9 or any(v < 0 for v in fractions.values()):
        raise ConfigError(f"split fractions must be non-negative and sum to 1, got {fractions}")
    key = pl.col(group) if group else pl.int_range(pl.len(), dtype=pl.UInt64)
    u = key.hash(seed=seed) % 1_000_000 / 1_000_000
    expr: Any = None
    edge = 0.0
    names = list(fractions)
    for name in names[:-1]:
        edge += fractions[name]
        expr = (pl.when(u < edge) if expr is None else expr.when(u < edge)).then(pl.lit(name))
    last = pl.lit(names[-1])
    return frame.with_columns((expr.otherwise(last) if expr is not None else last).alias(column))


@runtime_checkable
class Augmenter(Protocol):
    """Turns a batch of texts into new texts; null (None) where it produced nothing new."""

    name: str

    def augment(self, texts: pl.Series, seed: int = 0) -> pl.Series: ...


@runtime_checkable
class BackTranslator(Protocol):
    """What a plugin or user implements to plug a translation model in (Seek downloads none).

    ``translate`` receives a batch of texts and must return one translation per text, in order.
    Placeholders such as ``⟦T3⟧`` stand for protected terms and must be passed through unchanged.
    """

    def translate(self, texts: list[str], source: str, target: str) -> list[str]: ...


def _protected_dictionary(protected: TermDictionary | Iterable[str] | None) -> TermDictionary | None:
    if protected is None:
        return None
    if isinstance(protected, TermDictionary):
        return protected
    forms = [p for p in protected if p.strip()]
    return TermDictionary("protected", [Term(p) for p in dict.fromkeys(forms)]) if forms else None


class SynonymReplacer:
    """Replace each whitespace-separated word that has synonyms with probability ``rate``; protected terms never.

    ``synonyms`` maps a lower-case word to its replacements. Case of a capitalised word is kept and
    punctuation around it stays. Texts without spaces (unsegmented Chinese) pass through unchanged:
    segment them first (e.g. with jieba) if you want word-level synonyms there.
    """

    def __init__(
        self,
        synonyms: Mapping[str, Sequence[str]],
        rate: float = 0.1,
        protected: TermDictionary | Iterable[str] | None = None,
        name: str = "synonyms",
    ) -> None:
        if not 0 <= rate <= 1:
            raise ConfigError(f"synonym rate must be in [0, 1], got {rate}")
        self.synonyms = {k.casefold(): [s for s in v if s.casefold() != k.casefold()] for k, v in synonyms.items()}
        self.synonyms = {k: v for k, v in self.synonyms.items() if v}
        self.rate = rate
        self.protected = _protected_dictionary(protected)
        self.name = name

    def augment(self, texts: pl.Series, seed: int = 0) -> pl.Series:
        """New texts with some words replaced; null where nothing was replaced."""
        import numpy as np
        import polars as pl

        words = (
            pl.DataFrame({"doc": np.arange(len(texts), dtype=np.int64), "text": texts.fill_null("")})
            .with_columns(pl.col("text").str.split(" "))
            .explode("text")
            .rename({"text": "word"})
            .with_columns(pl.int_range(pl.len()).over("doc").alias("pos"))
            .with_columns(
                pl.col("word").str.extract(r"^([^\p{L}\p{N}]*)", 1).alias("pre"),
                pl.col("word").str.extract(r"([^\p{L}\p{N}]*)$", 1).alias("post"),
                pl.col("word").str.replace_all(r"^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$", "").alias("core"),
            )
            .with_columns(pl.col("core").str.to_lowercase().alias("key"))
        )
        protected = self._protected_mask(words)
        rng = np.random.default_rng(seed)
        draw = rng.random((words.height, 2))
        table = pl.DataFrame(
            {"key": list(self.synonyms), "options": list(self.synonyms.values())},
            schema={"key": pl.String, "options": pl.List(pl.String)},
        )
        words = (
            words.with_columns(protected.alias("protected"), pl.Series("u", draw[:, 0]), pl.Series("v", draw[:, 1]))
            .join(table, on="key", how="left", maintain_order="left")
            .with_columns(
                (pl.col("options").is_not_null() & ~pl.col("protected") & (pl.col("u") < self.rate)).alias("swap")
            )
        )
        pick = (pl.col("v") * pl.col("options").list.len()).floor().cast(pl.Int64)
        chosen = pl.col("options").list.get(pick, null_on_oob=True)
        capital = pl.col("core").str.slice(0, 1).str.to_uppercase() == pl.col("core").str.slice(0, 1)
        capital = capital & (pl.col("core").str.slice(0, 1).str.to_lowercase() != pl.col("core").str.slice(0, 1))
        styled = (
            pl.when(capital).then(chosen.str.slice(0, 1).str.to_uppercase() + chosen.str.slice(1)).otherwise(chosen)
        )
        words = words.with_columns(
            pl.when(pl.col("swap")).then(pl.col("pre") + styled + pl.col("post")).otherwise(pl.col("word")).alias("out")
        )
        joined = (
            words.group_by("doc", maintain_order=True)
            .agg(pl.col("out").str.join(" "), pl.col("swap").any())
            .sort("doc")
        )
        return joined.select(pl.when(pl.col("swap")).then(pl.col("out")).otherwise(None)).to_series().alias(texts.name)

    def _protected_mask(self, words: pl.DataFrame) -> pl.Series:
        """True for words that are part of a protected term (single words and multi-word phrases)."""
        import polars as pl

        if self.protected is None:
            return pl.Series([False] * words.height)
        phrases: dict[int, set[str]] = {}
        for form in self.protected.forms():
            parts = [p.casefold() for p in form.split()]
            phrases.setdefault(len(parts), set()).add(" ".join(parts))
        mask = pl.lit(False)
        key = pl.col("key")
        for size, forms in phrases.items():
            gram = pl.concat_str([key.shift(-i).over("doc") for i in range(size)], separator=" ")
            starts = gram.is_in(list(forms)).fill_null(False)
            mask = mask | pl.any_horizontal([starts.shift(i).over("doc").fill_null(False) for i in range(size)])
        return words.select(mask.alias("protected")).to_series()


class BackTranslation:
    """Augment by translating to a pivot language and back with a user-supplied :class:`BackTranslator`.

    Protected terms are swapped for placeholders before translation and restored afterwards; a
    translation that loses a placeholder, or comes back unchanged, yields null (no new row).
    """

    def __init__(
        self,
        translator: BackTranslator,
        source: str = "en",
        pivot: str = "de",
        protected: TermDictionary | Iterable[str] | None = None,
        name: str | None = None,
    ) -> None:
        if not isinstance(translator, BackTranslator):
            raise ConfigError(f"{type(translator).__name__} does not implement translate(texts, source, target)")
        self.translator, self.source, self.pivot = translator, source, pivot
        self.protected = _protected_dictionary(protected)
        self.name = name or f"back_translation:{source}-{pivot}"

    def augment(self, texts: pl.Series, seed: int = 0) -> pl.Series:
        """Round-trip the texts through the pivot language in two batched calls."""
        import polars as pl

        original = texts.fill_null("")
        masked, tokens, forms = original, [], []
        if self.protected is not None:
            marked = original.str.replace_all(f"({self.protected.pattern()})", "\x01${1}\x02")
            forms = marked.str.extract_all("\x01[^\x01\x02]*\x02").explode().drop_nulls().unique().sort().to_list()
            tokens = [f"⟦T{i}⟧" for i in range(len(forms))]
            masked = marked.str.replace_many(forms, tokens) if forms else marked
        there = self.translator.translate(masked.to_list(), self.source, self.pivot)
        back = self.translator.translate(list(there), self.pivot, self.source)
        if len(back) != len(original):
            raise DataError(f"{self.name}: translator returned {len(back)} texts for {len(original)}")
        result = pl.Series(texts.name, back, dtype=pl.String)
        expected = masked.str.count_matches("⟦T[0-9]+⟧")
        intact = result.str.count_matches("⟦T[0-9]+⟧") == expected
        if forms:
            result = result.str.replace_many(tokens, [f[1:-1] for f in forms])
        keep = intact & (result != original) & texts.is_not_null()
        return pl.select(pl.when(keep).then(result).otherwise(None)).to_series().alias(texts.name)


def augment_train(
    frame: pl.DataFrame,
    column: str,
    augmenters: Sequence[Augmenter],
    split_column: str = SPLIT,
    train_split: str = "train",
    copies: int = 1,
    seed: int = 0,
) -> pl.DataFrame:
    """Append augmented copies of train rows only, marked ``augmented``/``augmented_from``/``augmented_by``.

    Splits must be assigned first (:func:`assign_splits`); validation and test rows are never augmented.
    """
    import polars as pl

    if split_column not in frame.columns:
        raise DataError(f"column {split_column!r} not found: assign splits (assign_splits) before augmenting")
    if column not in frame.columns:
        raise DataError(f"text column {column!r} not found; columns are {frame.columns}")
    base = frame.with_columns(
        pl.lit(False).alias(AUGMENTED),
        pl.int_range(pl.len(), dtype=pl.Int64).alias(AUGMENTED_FROM),
        pl.lit(None, dtype=pl.String).alias(AUGMENTED_BY),
    )
    train = base.filter(pl.col(split_column) == train_split)
    parts = [base.with_columns(pl.lit(None, dtype=pl.Int64).alias(AUGMENTED_FROM))]
    for index, augmenter in enumerate(augmenters):
        for copy in range(copies):
            new = augmenter.augment(train[column], seed=seed + 1000 * index + copy)
            rows = train.with_columns(
                new.alias(column), pl.lit(True).alias(AUGMENTED), pl.lit(augmenter.name).alias(AUGMENTED_BY)
            )
            parts.append(rows.filter(pl.col(column).is_not_null()))
    out = pl.concat(parts, how="vertical")
    check_no_leakage(out, split_column, train_split)
    return out


def check_no_leakage(frame: pl.DataFrame, split_column: str = SPLIT, train_split: str = "train") -> None:
    """Raise DataError if any augmented row sits outside the train split."""
    import polars as pl

    if AUGMENTED not in frame.columns:
        return
    leaked = frame.with_row_index("__row").filter(pl.col(AUGMENTED) & (pl.col(split_column) != train_split))
    if leaked.height:
        first = leaked.row(0, named=True)
        raise DataError(
            f"row {first['__row']}: augmented row in split {first[split_column]!r}; "
            f"only {train_split!r} may be augmented"
        )
