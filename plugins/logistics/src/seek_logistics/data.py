"""The shipments schema (the app's DataSpec), quarters of a table, and the delivery-time target."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import polars as pl

    from seek.data.schema import Schema
    from seek.data.spec import DataSpec

FIELDS = (
    "shipment_id",
    "created_at",
    "origin_region",
    "destination_region",
    "distance_km",
    "weight_kg",
    "volume_m3",
    "service_level",
    "carrier",
    "hub",
    "weather",
    "promised_at",
    "delivered_at",
)
CATEGORICAL = ("origin_region", "destination_region", "service_level", "carrier", "hub", "weather")
NUMERIC = ("distance_km", "weight_kg", "volume_m3")


def shipments_schema() -> Schema:
    """Every field is required: the model reads all of them and an update must see the same ones."""
    import polars as pl

    from seek.data.schema import Field, Rule, Schema

    return Schema(
        name="shipments",
        fields=[
            Field("shipment_id", "str", required=True, description="unique id of the shipment"),
            Field("created_at", "datetime", required=True, not_future=True, description="when it was booked (UTC)"),
            Field("origin_region", "str", required=True, description="region it leaves from"),
            Field("destination_region", "str", required=True, description="region it goes to"),
            Field("distance_km", "float", required=True, min=0.0, max=20000.0, description="route length, km"),
            Field("weight_kg", "float", required=True, min=0.0, max=30000.0, description="gross weight, kg"),
            Field("volume_m3", "float", required=True, min=0.0, max=200.0, description="volume, cubic metres"),
            Field("service_level", "str", required=True, description="express / standard / economy (or yours)"),
            Field("carrier", "str", required=True, description="carrier running the line haul"),
            Field("hub", "str", required=True, description="sorting hub it passes through"),
            Field("weather", "str", required=True, description="weather on the route: clear, rain, snow, storm..."),
            Field("promised_at", "datetime", required=True, description="delivery time promised to the customer"),
            Field("delivered_at", "datetime", required=True, description="actual delivery time (the label)"),
        ],
        rules=[
            Rule(
                "delivered_after_created",
                pl.col("delivered_at") > pl.col("created_at"),
                "delivered_at is not after created_at",
                reject=True,
            ),
            Rule(
                "promised_after_created",
                pl.col("promised_at") >= pl.col("created_at"),
                "promised_at is before created_at",
                reject=True,
            ),
        ],
        extra="drop",
    )


def data_spec() -> DataSpec:
    """The logistics-eta DataSpec: shipments schema, key, thresholds; ``simulator`` is the built-in section."""
    from seek.data.spec import DataSpec

    return DataSpec(
        schema=shipments_schema(),
        key=("shipment_id",),
        thresholds={"completeness": 0.99, "validity": 0.98},
        builtin="simulator",
    )


class _LazySpec:
    """Build the DataSpec on first access, so importing the app does not import polars."""

    def __get__(self, obj: Any, owner: Any) -> DataSpec:
        return data_spec()


def validate_frame(frame: pl.DataFrame, source: str = "simulator") -> tuple[pl.DataFrame, pl.DataFrame]:
    """Run a frame already named in the schema through the core pipeline (schema step + duplicate keys)."""
    from seek.data.dedup import ExactDuplicates
    from seek.data.schema import SchemaStep
    from seek.data.steps import Pipeline

    result = Pipeline([SchemaStep(shipments_schema(), source=source), ExactDuplicates(["shipment_id"])]).run(frame)
    return result.kept.select(FIELDS), result.rejected


def with_targets(frame: pl.DataFrame) -> pl.DataFrame:
    """Add ``hours`` (delivery time, the regression target), ``late`` (0/1) and ``quarter`` ("2024Q1")."""
    import polars as pl

    hours = (pl.col("delivered_at") - pl.col("created_at")).dt.total_seconds() / 3600.0
    quarter = pl.concat_str(
        [pl.col("created_at").dt.year().cast(pl.String), pl.lit("Q"), pl.col("created_at").dt.quarter().cast(pl.String)]
    )
    return frame.with_columns(
        hours.alias("hours"),
        (pl.col("delivered_at") > pl.col("promised_at")).cast(pl.Float32).alias("late"),
        quarter.alias("quarter"),
    )


def quarters(frame: pl.DataFrame) -> list[tuple[str, pl.DataFrame]]:
    """The table cut into calendar quarters of ``created_at``, oldest first."""
    framed = with_targets(frame)
    names = sorted(framed.get_column("quarter").unique().to_list())
    return [(name, framed.filter(framed.get_column("quarter") == name)) for name in names]
