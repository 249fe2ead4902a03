"""Low-quality text filters: HTML and entities, control characters, symbol ratio, length, script (CJK + Latin)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

from seek.data.steps import CHANGED, REASON, mark_rejects

if TYPE_CHECKING:
    import polars as pl

#: Scripts each language is written in (Unicode script names as the regex engine knows them).
LANGUAGE_SCRIPTS: dict[str, tuple[str, ...]] = {
    "zh": ("Han",),
    "ja": ("Han", "Hiragana", "Katakana"),
    "ko": ("Hangul", "Han"),
    "en": ("Latin",),
    "de": ("Latin",),
    "fr": ("Latin",),
    "es": ("Latin",),
    "it": ("Latin",),
    "pt": ("Latin",),
    "ru": ("Cyrillic",),
}
_CONTROL = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\ufeff]"
# Mis-decoded UTF-8 read as Latin-1/cp1252 leaves these pairs; U+FFFD marks bytes that were lost.
_MOJIBAKE = r"\ufffd|Ã[\x80-\xbf©¨§ ¡¢£¤¥¦ª«¬®¯°±²³´µ¶·¸¹º»¼½¾¿]|â€|Â[ \xa0-\xbf]|ï¿½"


@lru_cache(maxsize=1)
def _named_entities() -> tuple[list[str], list[str]]:
    import html.entities

    # Only the ';'-terminated forms: bare legacy names like '&amp' would eat text such as '&ampersand'.
    pairs = sorted((f"&{name}", char) for name, char in html.entities.html5.items() if name.endswith(";"))
    return [p for p, _ in pairs], [c for _, c in pairs]


def _decode_numeric_entities(series: pl.Series) -> pl.Series:
    """Decode &#NNN; / &#xHH; entities; Python only touches the distinct entities found, never the rows."""
    import html

    found = series.str.extract_all(r"&#(?:[0-9]{1,7}|[xX][0-9a-fA-F]{1,6});").explode().drop_nulls().unique()
    if found.len() == 0:
        return series
    patterns = found.to_list()
    return series.str.replace_many(patterns, [html.unescape(p) for p in patterns])


def strip_html_expr(column: str) -> pl.Expr:
    """Expression: remove script/style blocks, comments and tags, decode entities, collapse whitespace."""
    import polars as pl

    names, chars = _named_entities()
    text = (
        pl.col(column)
        .str.replace_all(r"(?is)<(script|style)\b[^>]*>.*?</(script|style)\s*>", " ")
        .str.replace_all(r"(?s)<!--.*?-->", " ")
        .str.replace_all(r"<[A-Za-z/!][^<>]*>", " ")
        .str.replace_many(names, chars)
        .map_batches(_decode_numeric_entities, return_dtype=pl.String)
    )
    return text.str.replace_all(r"\s+", " ").str.strip_chars()


class StripHtml:
    """Change step: strip HTML markup and decode entities in a text column."""

    def __init__(self, column: str = "text") -> None:
        self.column = column
        self.name = f"strip_html:{column}"
        self.checks = f"HTML tags, comments, script/style blocks and entities in {column!r} (rows changed, not removed)"

    def apply(self, frame: pl.LazyFrame) -> pl.LazyFrame:
        """Replace the column by its stripped text and flag changed rows."""
        import polars as pl

        cleaned = strip_html_expr(self.column)
        return frame.with_columns(
            cleaned.alias(self.column),
            (cleaned != pl.col(self.column)).fill_null(False).alias(CHANGED),
            pl.lit(None, dtype=pl.String).alias(REASON),
        )


class NormaliseText:
    """Change step: Unicode NFKC, control/zero-width characters removed, whitespace collapsed."""

    def __init__(self, column: str = "text", form: str | None = "NFKC") -> None:
        self.column = column
        self.form = form
        self.name = f"normalise:{column}"
        self.checks = (
            f"control and zero-width characters, Unicode {form or 'no'} normal form, runs of whitespace in {column!r}"
        )

    def apply(self, frame: pl.LazyFrame) -> pl.LazyFrame:
        """Normalise the column and flag changed rows."""
        import polars as pl

        text = pl.col(self.column)
        if self.form:
            text = text.str.normalize(self.form)  # type: ignore[arg-type]  # checked against the four forms
        text = text.str.replace_all(_CONTROL, "").str.replace_all(r"\s+", " ").str.strip_chars()
        return frame.with_columns(
            text.alias(self.column),
            (text != pl.col(self.column)).fill_null(False).alias(CHANGED),
            pl.lit(None, dtype=pl.String).alias(REASON),
        )


class LengthBounds:
    """Remove texts shorter than ``min_chars`` or longer than ``max_chars`` (characters, so CJK counts right)."""

    def __init__(self, column: str = "text", min_chars: int = 1, max_chars: int | None = None) -> None:
        self.column, self.min_chars, self.max_chars = column, min_chars, max_chars
        self.name = f"length:{column}"
        self.checks = f"length of {column!r} within [{min_chars}, {max_chars or 'inf'}] characters; missing text"

    def apply(self, frame: pl.LazyFrame) -> pl.LazyFrame:
        """Mark missing, too short and too long texts."""
        import polars as pl

        length = pl.col(self.column).str.len_chars()
        checks: list[tuple[pl.Expr, str | pl.Expr]] = [
            (pl.col(self.column).is_null(), "missing text"),
            (length < self.min_chars, pl.format(f"too short: {{}} < {self.min_chars} characters", length)),
        ]
        if self.max_chars is not None:
            checks.append((length > self.max_chars, pl.format(f"too long: {{}} > {self.max_chars} characters", length)))
        return mark_rejects(frame, checks)


class SymbolRatio:
    """Remove texts where characters that are neither letters, digits nor spaces exceed ``max_ratio``."""

    def __init__(self, column: str = "text", max_ratio: float = 0.3) -> None:
        self.column, self.max_ratio = column, max_ratio
        self.name = f"symbol_ratio:{column}"
        self.checks = f"share of special symbols in {column!r} at most {max_ratio:.2f}"

    def apply(self, frame: pl.LazyFrame) -> pl.LazyFrame:
        """Mark texts over the symbol ratio."""
        import polars as pl

        text = pl.col(self.column)
        ratio = text.str.count_matches(r"[^\p{L}\p{N}\p{M}\s]") / text.str.len_chars().clip(lower_bound=1)
        return mark_rejects(
            frame, [(ratio > self.max_ratio, pl.format(f"symbol ratio {{}} > {self.max_ratio}", ratio.round(2)))]
        )


class ScriptCheck:
    """Remove texts whose letters are mostly outside the expected scripts, or that show mojibake.

    ``scripts`` are Unicode script names (``Latin``, ``Han``, ``Hiragana``...) or use ``languages``
    (``["zh", "en"]``) to take them from :data:`LANGUAGE_SCRIPTS`. Texts with no letters at all pass
    (numbers, codes); the symbol-ratio step judges those.
    """

    def __init__(
        self,
        column: str = "text",
        scripts: Sequence[str] | None = None,
        languages: Sequence[str] | None = ("zh", "en"),
        min_ratio: float = 0.6,
        reject_mojibake: bool = True,
    ) -> None:
        chosen: list[str] = list(scripts or [])
        for lang in languages or ():
            if lang not in LANGUAGE_SCRIPTS:
                raise ValueError(f"unknown language {lang!r}; known: {sorted(LANGUAGE_SCRIPTS)}")
            chosen += [s for s in LANGUAGE_SCRIPTS[lang] if s not in chosen]
        if not chosen:
            raise ValueError("ScriptCheck needs scripts or languages")
        self.column, self.scripts, self.min_ratio, self.reject_mojibake = column, chosen, min_ratio, reject_mojibake
        self.name = f"script:{column}"
        self.checks = f"at least {min_ratio:.0%} of letters in {'/'.join(chosen)}; no mojibake (mis-decoded text)"

    def apply(self, frame: pl.LazyFrame) -> pl.LazyFrame:
        """Mark texts in unexpected scripts or with mis-decoded characters."""
        import polars as pl

        text = pl.col(self.column)
        letters = text.str.count_matches(r"\p{L}")
        expected = text.str.count_matches("[" + "".join(rf"\p{{{s}}}" for s in self.scripts) + "]")
        ratio = expected / letters.clip(lower_bound=1)
        checks: list[tuple[pl.Expr, str | pl.Expr]] = []
        if self.reject_mojibake:
            checks.append((text.str.contains(_MOJIBAKE), "mojibake: text looks mis-decoded (wrong charset)"))
        checks.append(
            (
                (letters > 0) & (ratio < self.min_ratio),
                pl.format(f"script: only {{}} of letters in {'/'.join(self.scripts)}", ratio.round(2)),
            )
        )
        return mark_rejects(frame, checks)


def text_steps(
    column: str = "text",
    min_chars: int = 5,
    max_chars: int | None = 10_000,
    max_symbol_ratio: float = 0.3,
    languages: Sequence[str] = ("zh", "en"),
) -> list[object]:
    """The default stage-1 text steps, in order: HTML, normalise, length, symbols, script."""
    return [
        StripHtml(column),
        NormaliseText(column),
        LengthBounds(column, min_chars, max_chars),
        SymbolRatio(column, max_symbol_ratio),
        ScriptCheck(column, languages=languages),
    ]
