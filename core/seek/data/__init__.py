"""Data preparation and quality: read, validate, clean (3 stages), report on ISO/IEC 25012 dimensions, label.

Importing ``seek.data`` is light: polars, numpy, sklearn and tokenizers are imported inside functions.

Reading files (CSV, TSV, parquet, JSON lines)::

    frame = read_frame("tx.csv")                 # DataError "tx.csv: row 7, column 'amount': ..." when malformed
    frame = read_frame("tx.csv", as_text=True)   # every CSV column as text, for a Schema to cast
    table = read_table("tx.csv", as_text=True)   # damaged records kept as rejected rows (line, reason, raw)
    kept, rejected = validate(apply_mapping(table, mapping), schema, source="tx.csv")   # read rejects included
    require_rows(kept, rejected, "tx.csv"); check_reject_share(table.rows_in, rejected, "tx.csv")

Tabular schema validation (what a plugin such as finance uses to load transactions)::

    schema = Schema(
        fields=[
            Field("tx_id", "int", required=True),
            Field("amount", "float", required=True, min=0),              # NaN rejected unless allow_nan=True
            Field("timestamp", "datetime", required=True, not_future=True, format="%Y-%m-%d %H:%M:%S"),
            Field("mcc", "str", pattern="[0-9]{4}"),
        ],
        rules=[Rule("delivery_after_pickup", pl.col("delivered") >= pl.col("picked_up"), "delivery after pickup")],
    )
    frame = apply_mapping(frame, {"timestamp": "TX_DATETIME", "tx_id": "TRANSACTION_ID"}, source="tx.csv")
    valid, rejected = validate(frame, schema, source="tx.csv")
    # valid: rows cast to the schema types
    # rejected: row, step, reason ("amount: -5 below the minimum 0") + the original values

Field types: int, float, str, bool, datetime, date, category. A missing required *column* raises DataError;
a missing, unparseable or out-of-range *value* rejects the row with its reason.

Cleaning pipeline (stage 1). Every step marks rows; the runner removes them, so rows in = kept + rejected::

    result = Pipeline([SchemaStep(schema), ExactDuplicates(["tx_id"]), *text_steps("text"),
                       NearDuplicates("text", threshold=0.8)]).run(frame)
    result.kept, result.rejected, result.counts()   # counts: per step rows_in / kept / rejected / changed / reasons

A Step has ``name``, ``checks`` (one sentence) and ``apply(LazyFrame) -> LazyFrame`` adding a ``REASON``
column (null keeps the row) and optionally ``CHANGED``; :func:`reject_when` builds one from an expression.

Augmentation (stage 2), splits first so augmented rows never leak into validation/test::

    frame = assign_splits(frame, {"train": 0.8, "validation": 0.1, "test": 0.1}, seed=0, group="customer_id")
    frame = augment_train(frame, "text", [SynonymReplacer(synonyms, rate=0.1, protected=terms),
                                          BackTranslation(my_translator, "en", "de", protected=terms)])

Domain terms (stage 3): plugins return :class:`TermDictionary` objects from the ``seek_term_dictionaries``
hook, typically ``TermDictionary.from_package("seek_finance")`` reading ``seek_finance/terms.json``;
:func:`collect_term_dictionaries` gathers them. ``d.normalise_expr("text")`` maps variants to canonical
forms (the ``NormaliseTerms`` step; ``seek data clean``
runs it on text columns with every installed dictionary), they are protected from augmentation, and
:func:`train_tokenizer` adds them as whole tokens.

Quality report: ``quality_report(frame, schema, rules, key, label, timestamp, thresholds).save(dir)``
writes quality.json, quality.md and missingness.png; ``report.passed`` is False if a threshold fails.

Labelling: :func:`select_uncertain`, :func:`export_tasks` (Label Studio / Prodigy JSONL),
:func:`import_annotations` (validation, majority merge, Fleiss' kappa).

Command line: ``seek data check FILE [--schema APP]``, ``seek data clean FILE --out DIR [--app APP]``,
``seek label suggest APP --run RUN --data FILE --n 200``, ``seek label import FILE``. An App declares
its data through optional attributes or methods: ``data_schema``, ``data_rules``, ``data_mapping``,
``data_text_columns``, ``data_key``, ``data_label``, ``data_steps``, ``data_thresholds``.
"""

from __future__ import annotations

from seek.data.augment import (
    Augmenter,
    BackTranslation,
    BackTranslator,
    SynonymReplacer,
    assign_splits,
    augment_train,
    check_no_leakage,
)
from seek.data.dedup import ExactDuplicates, NearDuplicates, minhash_signatures, near_duplicate_groups
from seek.data.frames import ReadResult, read_frame, read_table
from seek.data.label_noise import label_noise_estimate
from seek.data.labeling import (
    Annotations,
    export_tasks,
    import_annotations,
    probabilities_from_predictions,
    select_uncertain,
    uncertainty,
)
from seek.data.quality import QualityReport, Thresholds, quality_report
from seek.data.rejects import check_reject_share, require_rows
from seek.data.schema import Field, Rule, Schema, SchemaStep, apply_mapping, validate
from seek.data.steps import CHANGED, REASON, ROW, FunctionStep, Pipeline, PipelineResult, Step, StepCount, reject_when
from seek.data.terms import NormaliseTerms, Term, TermDictionary, collect_term_dictionaries, merge_dictionaries
from seek.data.text import LengthBounds, NormaliseText, ScriptCheck, StripHtml, SymbolRatio, text_steps
from seek.data.tokenizer import add_terms, load_tokenizer, save_tokenizer, train_tokenizer

__all__ = [
    "CHANGED",
    "REASON",
    "ROW",
    "Annotations",
    "Augmenter",
    "BackTranslation",
    "BackTranslator",
    "ExactDuplicates",
    "Field",
    "FunctionStep",
    "LengthBounds",
    "NearDuplicates",
    "NormaliseTerms",
    "NormaliseText",
    "Pipeline",
    "PipelineResult",
    "QualityReport",
    "ReadResult",
    "Rule",
    "Schema",
    "SchemaStep",
    "ScriptCheck",
    "Step",
    "StepCount",
    "StripHtml",
    "SymbolRatio",
    "SynonymReplacer",
    "Term",
    "TermDictionary",
    "Thresholds",
    "add_terms",
    "apply_mapping",
    "assign_splits",
    "augment_train",
    "check_no_leakage",
    "check_reject_share",
    "collect_term_dictionaries",
    "export_tasks",
    "import_annotations",
    "label_noise_estimate",
    "load_tokenizer",
    "merge_dictionaries",
    "minhash_signatures",
    "near_duplicate_groups",
    "probabilities_from_predictions",
    "quality_report",
    "read_frame",
    "read_table",
    "reject_when",
    "require_rows",
    "save_tokenizer",
    "select_uncertain",
    "text_steps",
    "train_tokenizer",
    "uncertainty",
    "validate",
]
