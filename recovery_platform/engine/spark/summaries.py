"""Row counts and record-state fingerprints of a table version, computed where the data is.

A checkpoint records both for every table and a rollback proves its result by the fingerprint,
so neither may pull a table onto the driver: counts are one aggregate query, fingerprints
per-partition sums of the row hash (`hashing`) that the driver adds up.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from recovery_platform.engine.fingerprint import EMPTY_FINGERPRINT, combine
from recovery_platform.engine.spark.frames import column, flag
from recovery_platform.engine.spark.hashing import (
    PARTIAL_SCHEMA,
    from_halves,
    partial_fingerprints,
    ship_by_value,
)
from recovery_platform.engine.values import RowCounts, TableShape

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

__all__ = ["fingerprints", "row_counts"]


def row_counts(frame: DataFrame, shape: TableShape) -> RowCounts:
    """Counts by tracking state from one aggregate query over the version's rows."""
    from pyspark.sql import functions as F

    deleted, purged = flag(frame, shape.deleted), flag(frame, shape.purged)
    null_key = (
        column(shape.key).isNull()
        if shape.key is not None and shape.key in frame.columns
        else F.lit(False)
    )

    def total(condition: Any) -> Any:
        return F.sum(F.when(condition, 1).otherwise(0))

    row = frame.agg(
        F.count(F.lit(1)).alias("total"),
        total(~deleted & ~purged).alias("active"),
        total(deleted & ~purged).alias("deleted"),
        total(purged & ~deleted).alias("purged"),
        total(null_key).alias("null_keys"),
        total(deleted & purged).alias("both_flags"),
    ).collect()[0]
    counts = {name: int(row[name] or 0) for name in row.asDict()}
    return RowCounts(method="scan", **counts)


def fingerprints(frames: Sequence[DataFrame]) -> list[int]:
    """Fingerprints of several frames in one Spark job; only one row per partition returns."""
    from pyspark.sql import functions as F

    ship_by_value()
    partials = None
    for index, frame in enumerate(frames):
        mapped = frame.mapInArrow(partial_fingerprints, PARTIAL_SCHEMA)
        mapped = mapped.withColumn("frame", F.lit(index))
        partials = mapped if partials is None else partials.unionByName(mapped)
    results = [EMPTY_FINGERPRINT] * len(frames)
    for row in partials.collect() if partials is not None else []:
        part = from_halves(int(row["hi"]), int(row["lo"]))
        results[row["frame"]] = combine(results[row["frame"]], part)
    return results
