"""Domain terminology dictionaries: canonical terms with variants, loaded from JSON and contributed by plugins.

A dictionary file (a plugin ships it as package data, e.g. ``seek_finance/terms.json``)::

    {"domain": "finance",
     "terms": [{"canonical": "merchant category code", "variants": ["MCC"], "category": "payments"}]}
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seek.errors import DataError

if TYPE_CHECKING:
    import polars as pl

_REGEX_META = set(r"\.+*?()|[]{}^$#&-~")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")


@dataclass(frozen=True)
class Term:
    """One term: the form to normalise to, the spellings that mean it, and its category."""

    canonical: str
    variants: tuple[str, ...] = ()
    category: str = ""

    @property
    def forms(self) -> tuple[str, ...]:
        """The canonical form followed by its variants."""
        return (self.canonical, *self.variants)


@dataclass
class TermDictionary:
    """A domain's terms; protects them from augmentation, normalises variants, extends tokenizers."""

    domain: str
    terms: list[Term] = field(default_factory=list)
    source: str = ""

    def __post_init__(self) -> None:
        owner: dict[str, str] = {}
        for term in self.terms:
            for form in term.forms:
                key = _key(form)
                if key in owner and owner[key] != term.canonical:
                    raise DataError(
                        f"{self.source or self.domain}: term {form!r} is a variant of both "
                        f"{owner[key]!r} and {term.canonical!r}"
                    )
                owner[key] = term.canonical
        self._canonical_of = owner

    def __len__(self) -> int:
        return len(self.terms)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "") -> TermDictionary:
        """Build from the JSON layout; names the entry that is wrong."""
        if not isinstance(data, dict) or "domain" not in data or not isinstance(data.get("terms"), list):
            raise DataError(f"{source or 'terms'}: expected an object with 'domain' and a 'terms' list")
        terms = []
        for index, entry in enumerate(data["terms"]):
            if (
                not isinstance(entry, dict)
                or not isinstance(entry.get("canonical"), str)
                or not entry["canonical"].strip()
            ):
                raise DataError(f"{source or 'terms'}: terms[{index}] needs a non-empty string 'canonical'")
            variants = entry.get("variants", [])
            if not isinstance(variants, list) or not all(isinstance(v, str) and v.strip() for v in variants):
                raise DataError(
                    f"{source or 'terms'}: terms[{index}] ({entry['canonical']!r}): "
                    "'variants' must be a list of strings"
                )
            terms.append(
                Term(entry["canonical"].strip(), tuple(v.strip() for v in variants), str(entry.get("category", "")))
            )
        return cls(domain=str(data["domain"]), terms=terms, source=source)

    @classmethod
    def from_json(cls, path: str | os.PathLike[str]) -> TermDictionary:
        """Load a dictionary from a JSON file."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise DataError(f"{path}: file not found") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise DataError(f"{path}: not valid JSON ({exc})") from None
        return cls.from_dict(data, source=str(path))

    @classmethod
    def from_package(cls, package: str, resource: str = "terms.json") -> TermDictionary:
        """Load a dictionary shipped as package data, e.g. ``from_package("seek_finance")``."""
        ref = resources.files(package).joinpath(resource)
        try:
            text = ref.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise DataError(f"{package}/{resource}: not found in the installed package") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataError(f"{package}/{resource}: not valid JSON ({exc})") from None
        return cls.from_dict(data, source=f"{package}/{resource}")

    def to_dict(self) -> dict[str, Any]:
        """The JSON layout."""
        return {
            "domain": self.domain,
            "terms": [
                {"canonical": t.canonical, "variants": list(t.variants), "category": t.category} for t in self.terms
            ],
        }

    def canonical(self, form: str) -> str | None:
        """The canonical form of ``form`` (any case), or None if it is not a term."""
        return self._canonical_of.get(_key(form))

    def forms(self) -> list[str]:
        """Every canonical form and variant, longest first."""
        return sorted({f for t in self.terms for f in t.forms}, key=lambda f: (-len(f), f))

    def categories(self) -> dict[str, int]:
        """How many terms each category holds."""
        out: dict[str, int] = {}
        for term in self.terms:
            out[term.category] = out.get(term.category, 0) + 1
        return out

    def pattern(self, forms: Sequence[str] | None = None) -> str:
        """A case-insensitive regex matching any form as a whole word (no word boundary inside CJK text)."""
        return "(?i)(?:" + "|".join(_form_regex(f) for f in (forms or self.forms())) + ")"

    def normalise_expr(self, column: str) -> pl.Expr:
        """Expression replacing every variant in ``column`` (whole words, any case) by its canonical form."""
        import polars as pl

        variants = [f for f in self.forms() if f != self.canonical(f)]
        if not variants:
            return pl.col(column)
        # Pass 1 wraps each matched variant in \x01..\x02 (regex handles word boundaries); pass 2 maps the
        # distinct wrapped spellings, whatever their case, to canonical forms with one Aho-Corasick sweep.
        marked = pl.col(column).str.replace_all(f"({self.pattern(variants)})", "\x01${1}\x02")
        return marked.map_batches(self._replace_marked, return_dtype=pl.String)

    def _replace_marked(self, series: pl.Series) -> pl.Series:
        found = series.str.extract_all("\x01[^\x01\x02]*\x02").explode().drop_nulls().unique().to_list()
        if not found:
            return series
        replacements = [self.canonical(m[1:-1]) or m[1:-1] for m in found]
        return series.str.replace_many(found, replacements)


def _key(form: str) -> str:
    return " ".join(form.split()).casefold()


def _form_regex(form: str) -> str:
    body = "".join("\\" + ch if ch in _REGEX_META else (r"\s+" if ch == " " else ch) for ch in form)
    word = lambda ch: ch.isalnum() and not _CJK.match(ch)  # noqa: E731
    return (r"\b" if word(form[0]) else "") + body + (r"\b" if word(form[-1]) else "")


class NormaliseTerms:
    """Change step: replace term variants in a text column by their canonical form."""

    def __init__(self, column: str, dictionary: TermDictionary) -> None:
        self.column, self.dictionary = column, dictionary
        self.name = f"normalise_terms:{column}"
        self.checks = (
            f"variants of {len(dictionary)} {dictionary.domain} terms in {column!r} (rows changed, not removed)"
        )

    def apply(self, frame: pl.LazyFrame) -> pl.LazyFrame:
        """Normalise the column and flag changed rows."""
        import polars as pl

        from seek.data.steps import CHANGED, REASON

        data = frame.collect()
        normalised = data.select(self.dictionary.normalise_expr(self.column)).to_series()
        return data.with_columns(
            normalised.alias(self.column),
            (normalised != data[self.column]).fill_null(False).alias(CHANGED),
            pl.lit(None, dtype=pl.String).alias(REASON),
        ).lazy()


def merge_dictionaries(dictionaries: Iterable[TermDictionary], domain: str = "merged") -> TermDictionary:
    """One dictionary holding every term; a form claimed by two canonicals raises DataError naming both."""
    terms: dict[str, Term] = {}
    sources = []
    for dictionary in dictionaries:
        sources.append(dictionary.source or dictionary.domain)
        for term in dictionary.terms:
            key = term.canonical.casefold()
            if key in terms:
                old = terms[key]
                variants = tuple(dict.fromkeys(old.variants + term.variants))
                terms[key] = Term(old.canonical, variants, old.category or term.category)
            else:
                terms[key] = term
    return TermDictionary(domain=domain, terms=list(terms.values()), source=" + ".join(sources))


def collect_term_dictionaries(manager: Any = None) -> list[TermDictionary]:
    """Every dictionary contributed through the ``seek_term_dictionaries`` hook.

    ``manager`` is a :class:`seek.plugins.PluginManager`, a bare ``pluggy.PluginManager("seek")``, or None
    for the process-wide manager. Entries that are not TermDictionary objects raise DataError.
    """
    if manager is None:
        from seek.plugins import get_manager

        manager = get_manager()
    if hasattr(manager, "term_dictionaries"):
        found = list(manager.term_dictionaries())
    else:
        found = [d for result in manager.hook.seek_term_dictionaries() for d in (result or [])]
    for item in found:
        if not isinstance(item, TermDictionary):
            raise DataError(f"seek_term_dictionaries returned {type(item).__name__}, expected TermDictionary")
    return found
