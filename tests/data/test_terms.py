"""Term dictionaries: JSON loading, variant normalisation, the seek_term_dictionaries hook."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import polars as pl
import pytest

import seek
from seek.data.augment import SynonymReplacer
from seek.data.terms import Term, TermDictionary, collect_term_dictionaries, merge_dictionaries
from seek.data.tokenizer import train_tokenizer
from seek.errors import DataError

FINANCE = {
    "domain": "finance",
    "terms": [
        {"canonical": "merchant category code", "variants": ["MCC"], "category": "payments"},
        {"canonical": "card-not-present", "variants": ["CNP", "card not present"], "category": "fraud"},
        {"canonical": "ACH", "variants": ["automated clearing house"], "category": "payments"},
    ],
}


def test_variants_normalise_to_canonical_as_whole_words_any_case() -> None:
    terms = TermDictionary.from_dict(FINANCE)
    frame = pl.DataFrame(
        {"t": ["the mcc of a Card  Not Present sale", "reach the ach via Automated Clearing House", "mccx"]}
    )
    out = frame.select(terms.normalise_expr("t"))["t"].to_list()
    assert out == ["the merchant category code of a card-not-present sale", "reach the ach via ACH", "mccx"]


def test_cjk_terms_match_inside_unsegmented_text() -> None:
    terms = TermDictionary("medical", [Term("肺结节", ("肺部结节",))])
    out = pl.DataFrame({"t": ["发现肺部结节两枚"]}).select(terms.normalise_expr("t"))["t"].item()
    assert out == "发现肺结节两枚"


def test_from_json_and_errors_name_the_entry(tmp_path: Path) -> None:
    path = tmp_path / "terms.json"
    path.write_text(json.dumps(FINANCE))
    assert len(TermDictionary.from_json(path)) == 3
    path.write_text(json.dumps({"domain": "x", "terms": [{"canonical": "a"}, {"variants": ["b"]}]}))
    with pytest.raises(DataError, match=r"terms\[1\] needs a non-empty string 'canonical'"):
        TermDictionary.from_json(path)
    with pytest.raises(DataError, match="is a variant of both"):
        TermDictionary("x", [Term("a", ("z",)), Term("b", ("Z",))])


def test_from_package_reads_package_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "seek_demo_terms"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "terms.json").write_text(json.dumps(FINANCE))
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        loaded = TermDictionary.from_package("seek_demo_terms")
        assert loaded.domain == "finance" and loaded.source == "seek_demo_terms/terms.json"
        with pytest.raises(DataError, match="not found in the installed package"):
            TermDictionary.from_package("seek_demo_terms", "missing.json")
    finally:
        sys.modules.pop("seek_demo_terms", None)


def test_merge_combines_variants_of_the_same_canonical() -> None:
    a = TermDictionary("a", [Term("ACH", ("ach transfer",))])
    b = TermDictionary("b", [Term("ach", ("automated clearing house",)), Term("SWIFT")])
    merged = merge_dictionaries([a, b])
    assert merged.canonical("automated clearing house") == "ACH" and merged.canonical("swift") == "SWIFT"


class LogisticsTerms:
    """A plugin contributing a dictionary through the hook."""

    @seek.hookimpl
    def seek_term_dictionaries(self) -> list[TermDictionary]:
        return [
            TermDictionary("logistics", [Term("free on board", ("FOB",), "incoterm"), Term("bill of lading", ("B/L",))])
        ]


def test_hook_seek_term_dictionaries_terms_protect_normalise_and_extend_tokenizer(seek_plugins) -> None:
    seek_plugins.register(LogisticsTerms(), name="logistics-terms")
    found = collect_term_dictionaries(seek_plugins.manager)
    assert [d.domain for d in found] == ["logistics"]
    terms = merge_dictionaries(found)
    normalised = pl.DataFrame({"t": ["ship FOB with the B/L"]}).select(terms.normalise_expr("t"))["t"].item()
    assert normalised == "ship free on board with the bill of lading"
    augmented = (
        SynonymReplacer({"free": ["gratis"], "ship": ["send"]}, rate=1.0, protected=terms)
        .augment(pl.Series([normalised]))
        .item()
    )
    assert augmented == "send free on board with the bill of lading"
    tokenizer = train_tokenizer(["ship the cargo with a bill of lading"] * 20, vocab_size=280, terms=found)
    assert "bill of lading" in tokenizer.encode("the bill of lading").tokens


def test_hook_seek_term_dictionaries_with_a_bare_pluggy_manager() -> None:
    import pluggy

    from seek import hookspecs

    pm = pluggy.PluginManager("seek")
    pm.add_hookspecs(hookspecs)
    pm.register(LogisticsTerms())
    assert collect_term_dictionaries(pm)[0].canonical("fob") == "free on board"
