"""Exact duplicates and MinHash/LSH near duplicates at the configured threshold."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from seek.data.dedup import ExactDuplicates, NearDuplicates, lsh_bands, minhash_signatures, near_duplicate_groups
from seek.data.steps import Pipeline


def shingles(text: str, k: int = 3) -> set[str]:
    return {text[i : i + k] for i in range(max(len(text) - k + 1, 1))}


def jaccard(a: str, b: str) -> float:
    sa, sb = shingles(a), shingles(b)
    return len(sa & sb) / len(sa | sb)


def test_exact_duplicates_on_whole_rows_and_on_keys() -> None:
    frame = pl.DataFrame({"id": [1, 1, 2, 1], "v": ["a", "a", "b", "c"]})
    whole = Pipeline([ExactDuplicates()]).run(frame)
    assert whole.rejected.select("row", "reason").to_dicts() == [{"row": 2, "reason": "duplicate of row 1"}]
    keyed = Pipeline([ExactDuplicates(["id"])]).run(frame)
    assert keyed.rejected["row"].to_list() == [2, 4] and keyed.kept["v"].to_list() == ["a", "b"]


def test_near_duplicates_found_above_threshold_and_kept_below() -> None:
    base = "the quick brown fox jumps over the lazy dog near the river bank"
    close = base.replace("river", "rivers")  # a one-letter edit
    far = "an invoice for freight shipped from the port yesterday evening"
    assert jaccard(base.replace(" ", ""), close.replace(" ", "")) > 0.85
    assert jaccard(base.replace(" ", ""), far.replace(" ", "")) < 0.1
    frame = pl.DataFrame(
        {"text": [base, far, close.upper() + "!!", "THE QUICK brown fox, jumps over the lazy dog near the river bank."]}
    )
    result = Pipeline([NearDuplicates("text", threshold=0.8, num_perm=128)]).run(frame)
    assert result.kept["text"].to_list() == [base, far]
    assert [r.split(" (")[0] for r in result.rejected["reason"].to_list()] == ["near-duplicate of row 1"] * 2


def test_threshold_decides_at_the_estimated_jaccard() -> None:
    rng = np.random.default_rng(0)
    sig = rng.integers(0, 2**31, size=(3, 64), dtype=np.uint32)
    sig[1], sig[2] = sig[0], sig[0]
    sig[1, :10] += 1  # 54/64 = 0.84 equal
    sig[2, 46:] += 2  # 46/64 = 0.72 equal to row 0, 36/64 to row 1
    group, estimate = near_duplicate_groups(sig, threshold=0.8)
    assert group.tolist() == [0, 0, 2]
    assert estimate[1] == pytest.approx(54 / 64)
    group, _ = near_duplicate_groups(sig, threshold=0.7)
    assert group.tolist() == [0, 0, 0]


def test_cjk_near_duplicates_differing_only_in_punctuation() -> None:
    frame = pl.DataFrame(
        {"text": ["今天天气很好，我们去公园散步吧。", "今天天气很好,我们去公园散步吧!", "货物已经到达港口请及时提货"]}
    )
    result = Pipeline([NearDuplicates("text", threshold=0.9)]).run(frame)
    assert result.rejected["row"].to_list() == [2]


def test_signatures_estimate_true_jaccard() -> None:
    a = "abcdefghijklmnopqrstuvwxyz0123456789"
    b = a[:30] + "zyxwvu"
    sig = minhash_signatures([a, b], num_perm=256)
    estimate = (sig[0] == sig[1]).mean()
    assert abs(estimate - jaccard(a, b)) < 0.08


def test_lsh_band_choice_and_validation() -> None:
    bands, rows = lsh_bands(64, 0.8)
    assert (bands, rows) == (10, 6)  # 1 - (1 - 0.8**6)**10 = 0.952 recall; 7 rows would give 0.88
    assert 1 - (1 - 0.8**rows) ** bands >= 0.95
    with pytest.raises(ValueError, match="threshold"):
        NearDuplicates("text", threshold=0)


def test_exact_duplicates_judge_valid_rows_after_normalisation() -> None:
    from seek.data.schema import Field, Schema, SchemaStep

    schema = Schema([Field("id", "int", required=True), Field("amount", "float", required=True, min=0)])
    frame = pl.DataFrame({"id": ["3", "3", " 3", "3.0", "7"], "amount": ["-5", "1", "2", "3", "4"]})
    result = Pipeline([SchemaStep(schema), ExactDuplicates(["id"])]).run(frame)
    assert result.kept.rows() == [(3, 1.0), (7, 4.0)]  # row 1 is invalid, so row 2 is the first "3"
    assert result.rejected.select("row", "reason").rows() == [
        (1, "amount: -5 below the minimum 0"),
        (3, "duplicate of row 2"),
        (4, "duplicate of row 2"),
    ]
    text = Pipeline([ExactDuplicates(["code"])]).run(pl.DataFrame({"code": ["A1", " A1", "A1 ", "B2"]}))
    assert text.kept["code"].to_list() == ["A1", "B2"]
