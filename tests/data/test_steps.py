"""The pipeline runner: every removed row is in ``rejected`` with step and reason; rows in = kept + rejected."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seek.data.dedup import ExactDuplicates, NearDuplicates
from seek.data.schema import Field, Schema, SchemaStep
from seek.data.steps import REASON, FunctionStep, Pipeline, reject_when
from seek.data.text import text_steps


def test_every_removed_row_is_in_rejected_with_step_reason_and_original_values() -> None:
    frame = pl.DataFrame(
        {"id": [1, 2, 2, 3, 4], "text": ["<b>good text here</b>", "fine text", "fine text", "no", "ok text"]}
    )
    result = Pipeline([ExactDuplicates(["id"]), *text_steps("text", min_chars=4)]).run(frame)
    assert result.kept.to_dicts() == [
        {"id": 1, "text": "good text here"},
        {"id": 2, "text": "fine text"},
        {"id": 4, "text": "ok text"},
    ]
    assert result.rejected.select("row", "step", "reason", "id", "text").to_dicts() == [
        {"row": 3, "step": "exact_duplicates:id", "reason": "duplicate of row 2", "id": 2, "text": "fine text"},
        {"row": 4, "step": "length:text", "reason": "too short: 2 < 4 characters", "id": 3, "text": "no"},
    ]
    counts = result.counts()
    assert counts["rows_in"] == counts["rows_kept"] + counts["rows_rejected"] == 5
    assert sum(step["rejected"] for step in counts["steps"]) == counts["rows_rejected"]
    html = next(s for s in result.steps if s.name == "strip_html:text")
    assert html.changed == 1 and html.rejected == 0


def test_rejected_keeps_original_values_even_after_a_changing_step() -> None:
    frame = pl.DataFrame({"text": ["<i>hi</i>"]})
    result = Pipeline(text_steps("text", min_chars=3)).run(frame)
    assert result.rejected["text"].item() == "<i>hi</i>" and result.rejected["step"].item() == "length:text"


def test_reject_when_builds_a_step_from_an_expression() -> None:
    step = reject_when("positive", "amount > 0", pl.col("amount") <= 0, pl.format("amount {} not positive", "amount"))
    result = Pipeline([step]).run(pl.DataFrame({"amount": [1, -1, None]}))
    assert result.kept["amount"].to_list() == [1, None]
    assert result.rejected["reason"].to_list() == ["amount -1 not positive"]


def test_a_step_that_drops_rows_itself_is_refused() -> None:
    sneaky = FunctionStep(
        "sneaky", "nothing", lambda f: f.head(1).with_columns(pl.lit(None, dtype=pl.String).alias(REASON))
    )
    with pytest.raises(TypeError, match="changed the row count"):
        Pipeline([sneaky]).run(pl.DataFrame({"a": [1, 2]}))


def test_reserved_and_clashing_column_names() -> None:
    with pytest.raises(ValueError, match="reserved"):
        Pipeline([]).run(pl.DataFrame({REASON: [1]}))
    result = Pipeline([ExactDuplicates()]).run(pl.DataFrame({"reason": ["x", "x"], "row": [1, 1]}))
    assert result.rejected.columns == ["row", "step", "reason", "reason_", "row_"]
    with pytest.raises(ValueError, match="unique"):
        Pipeline([ExactDuplicates(), ExactDuplicates()])


frames = st.integers(min_value=0, max_value=30).flatmap(
    lambda n: st.fixed_dictionaries(
        {
            "id": st.lists(st.one_of(st.none(), st.integers(0, 5)), min_size=n, max_size=n),
            "amount": st.lists(
                st.one_of(st.none(), st.sampled_from(["1", "-1", "x", "NaN", "2.5", ""])), min_size=n, max_size=n
            ),
            "text": st.lists(
                st.one_of(st.none(), st.text(alphabet="ab <>&;中文!", max_size=12)), min_size=n, max_size=n
            ),
        }
    )
)


@settings(max_examples=60, deadline=None)
@given(data=frames)
def test_property_rows_in_equal_kept_plus_rejected(data: dict) -> None:
    frame = pl.DataFrame(data, schema={"id": pl.Int64, "amount": pl.String, "text": pl.String})
    schema = Schema([Field("id", "int", required=True), Field("amount", "float", min=0)])
    steps = [
        SchemaStep(schema),
        ExactDuplicates(["id"]),
        *text_steps("text", min_chars=2),
        NearDuplicates("text", threshold=0.7, num_perm=16),
    ]
    result = Pipeline(steps).run(frame)
    assert result.kept.height + result.rejected.height == frame.height
    assert result.rejected["row"].n_unique() == result.rejected.height
    assert result.rejected["reason"].null_count() == 0
    for step in result.steps:
        assert step.rows_in == step.kept + step.rejected
