"""Augmentation: splits first, train only, protected terms never replaced, pluggable back-translation."""

from __future__ import annotations

import polars as pl
import pytest

from seek.data.augment import (
    AUGMENTED,
    BackTranslation,
    SynonymReplacer,
    assign_splits,
    augment_train,
    check_no_leakage,
)
from seek.data.terms import Term, TermDictionary
from seek.errors import ConfigError, DataError

TERMS = TermDictionary("finance", [Term("card not present", ("CNP",)), Term("chargeback")])
SYNONYMS = {
    "card": ["plastic"],
    "fraud": ["scam"],
    "chargeback": ["refund"],
    "quick": ["fast"],
    "present": ["here"],
    "purchase": ["buy"],
}


def test_protected_terms_are_never_replaced_even_at_rate_one() -> None:
    texts = pl.Series(
        ["Fraud on a card not present purchase, quick chargeback.", "A CNP card is present", "chargeback"]
    )
    out = SynonymReplacer(SYNONYMS, rate=1.0, protected=TERMS).augment(texts).to_list()
    assert out == ["Scam on a card not present buy, fast chargeback.", "A CNP plastic is here", None]


def test_rate_zero_changes_nothing_and_rate_is_validated() -> None:
    assert SynonymReplacer(SYNONYMS, rate=0.0).augment(pl.Series(["quick fraud"])).to_list() == [None]
    with pytest.raises(ConfigError, match="rate"):
        SynonymReplacer(SYNONYMS, rate=1.5)


def test_replacement_rate_is_roughly_the_configured_rate() -> None:
    texts = pl.Series(["fraud " * 50] * 20)
    out = SynonymReplacer(SYNONYMS, rate=0.3).augment(texts, seed=1)
    share = out.str.count_matches("scam").sum() / 1000
    assert 0.25 < share < 0.35


class DictTranslator:
    """A toy translator: word swaps each way; keeps placeholders unless told to drop them."""

    def __init__(self, drop_placeholders: bool = False) -> None:
        self.drop = drop_placeholders
        self.calls: list[tuple[str, str]] = []

    def translate(self, texts: list[str], source: str, target: str) -> list[str]:
        self.calls.append((source, target))
        if target == "de":
            out = [t.replace("purchase", "Kauf") for t in texts]
            return [t.replace("⟦T0⟧", "") for t in out] if self.drop else out
        return [t.replace("Kauf", "acquisition") for t in texts]


def test_back_translation_round_trips_and_protects_terms() -> None:
    translator = DictTranslator()
    texts = pl.Series(["a card not present purchase", "no change here"])
    out = BackTranslation(translator, "en", "de", protected=TERMS).augment(texts).to_list()
    assert out == ["a card not present acquisition", None]
    assert translator.calls == [("en", "de"), ("de", "en")]


def test_back_translation_that_loses_a_protected_term_yields_nothing() -> None:
    texts = pl.Series(["a card not present purchase"])
    assert BackTranslation(DictTranslator(drop_placeholders=True), protected=TERMS).augment(texts).to_list() == [None]


def test_back_translation_requires_the_protocol() -> None:
    with pytest.raises(ConfigError, match="translate"):
        BackTranslation(object())  # type: ignore[arg-type]


def test_augmented_rows_are_marked_and_only_in_train() -> None:
    frame = assign_splits(pl.DataFrame({"text": [f"quick fraud number {i}" for i in range(200)]}), seed=3)
    out = augment_train(frame, "text", [SynonymReplacer(SYNONYMS, rate=1.0)])
    train = frame.filter(pl.col("split") == "train").height
    augmented = out.filter(pl.col(AUGMENTED))
    assert augmented.height == train and set(augmented["split"]) == {"train"}
    assert out.filter(~pl.col(AUGMENTED)).drop("augmented", "augmented_from", "augmented_by").equals(frame)
    source = out.filter(~pl.col(AUGMENTED)).with_row_index("i")
    joined = augmented.join(source, left_on="augmented_from", right_on="i", suffix="_orig")
    assert (joined["split_orig"] == "train").all()


def test_splits_are_reproducible_grouped_and_close_to_fractions() -> None:
    frame = pl.DataFrame({"customer": [i // 4 for i in range(4000)]})
    a = assign_splits(frame, seed=1, group="customer")
    assert a.equals(assign_splits(frame, seed=1, group="customer"))
    assert (a.group_by("customer").agg(pl.col("split").n_unique())["split"] == 1).all()
    share = a["split"].value_counts(normalize=True).sort("split")
    assert abs(share.filter(pl.col("split") == "train")["proportion"].item() - 0.8) < 0.05
    with pytest.raises(ConfigError, match="sum to 1"):
        assign_splits(frame, {"train": 0.9, "test": 0.2})


def test_leakage_check_and_augmenting_without_splits_fail() -> None:
    with pytest.raises(DataError, match="assign splits"):
        augment_train(pl.DataFrame({"text": ["a"]}), "text", [])
    leaked = pl.DataFrame({"text": ["a"], "split": ["test"], AUGMENTED: [True]})
    with pytest.raises(DataError, match="row 0: augmented row in split 'test'"):
        check_no_leakage(leaked)
