"""Column expressions and Arrow <-> DataFrame conversions shared by the Spark engine modules.

Columns are always referenced through `column`, which quotes the name as one identifier, so a
name with spaces or dots (column-mapped tables have them) can never be parsed as an expression.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import pyarrow as pa

from recovery_platform.engine.interface import Scalar
from recovery_platform.engine.values import TableShape

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

__all__ = ["STATE_ACTIVE", "column", "flag", "frame_from_arrow", "read_rows", "state_code"]

FILE_TARGET_BYTES = 128 * 1024 * 1024
"""In-memory rows written by the driver go into files of about this size."""

STATE_ACTIVE, STATE_DELETED, STATE_PURGED = 0, 1, 2
"""Row states as small ints; purged wins over deleted, as in the delta-rs engine."""


def column(name: str) -> Column:
    """A reference to exactly the column `name`, whatever characters it holds."""
    from pyspark.sql import functions as F

    return F.col("`" + name.replace("`", "``") + "`")


def flag(frame: DataFrame, name: str | None) -> Column:
    """A tracking flag as a non-null boolean: false when null or when the table lacks it."""
    from pyspark.sql import functions as F

    if name is None or name not in frame.columns:
        return F.lit(False)
    return F.coalesce(column(name).cast("boolean"), F.lit(False))


def state_code(frame: DataFrame, shape: TableShape) -> Column:
    """0 active, 1 deleted, 2 purged for each row (purged wins when both flags are set)."""
    from pyspark.sql import functions as F

    return (
        F.when(flag(frame, shape.purged), F.lit(STATE_PURGED))
        .when(flag(frame, shape.deleted), F.lit(STATE_DELETED))
        .otherwise(F.lit(STATE_ACTIVE))
    )


def _spark_friendly(table: pa.Table) -> pa.Table:
    """View types cast to their large equivalents, which Spark's Arrow reader accepts."""
    fields = []
    for f in table.schema:
        if pa.types.is_string_view(f.type):
            fields.append(f.with_type(pa.large_string()))
        elif pa.types.is_binary_view(f.type):
            fields.append(f.with_type(pa.large_binary()))
        else:
            fields.append(f)
    target = pa.schema(fields)
    return table if target == table.schema else table.cast(target)


def frame_from_arrow(spark: SparkSession, table: pa.Table) -> DataFrame:
    """A DataFrame of rows the caller already holds in memory (writes and merges).

    The rows come from one process, so they are written as one file per 128 MiB, as delta-rs
    writes them, rather than one small file per Spark slice.
    """
    partitions = max(1, -(-table.nbytes // FILE_TARGET_BYTES))
    return spark.createDataFrame(_spark_friendly(table)).coalesce(partitions)


def read_rows(
    frame: DataFrame, columns: Sequence[str] | None, equals: Mapping[str, Scalar] | None
) -> pa.Table:
    """Rows matching `equals` (None matches null), as Arrow. For metadata and small reads only.

    Raises:
        ValueError: a named column is not in the table.
    """
    names = list(columns) if columns is not None else frame.columns
    missing = [n for n in [*names, *(equals or {})] if n not in frame.columns]
    if missing:
        raise ValueError(f"columns {missing} are not in the table; it has {frame.columns}")
    for name, value in (equals or {}).items():
        frame = frame.where(column(name).isNull() if value is None else column(name) == value)
    return frame.select(*[column(n) for n in names]).toArrow()
