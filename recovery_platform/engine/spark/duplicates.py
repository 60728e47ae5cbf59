"""Keys held by more than one row, counted by a Spark `groupBy` where the data is.

Several frames (a source extract and its table, or two versions of a table) are answered by one
job: their keys are grouped per frame, and only the totals and a few repeated keys per frame
reach the driver. Keys compare as text, as in the delta-rs engine; a null key is never a
duplicate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import reduce
from typing import TYPE_CHECKING

from recovery_platform.engine.spark.frames import column
from recovery_platform.engine.values import NO_DUPLICATES, DuplicateKeys

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

__all__ = ["KeyTotals", "key_totals"]

_FRAME, _KEY = "_rp_frame", "_rp_key"


@dataclass(frozen=True)
class KeyTotals:
    """One frame's row count and the keys it holds more than once."""

    rows: int
    duplicates: DuplicateKeys


def key_totals(frames: Sequence[DataFrame], key: str, sample_size: int) -> list[KeyTotals]:
    """Rows and duplicate keys of each frame's `key` column, from one Spark job."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    parts = [
        frame.select(F.lit(i).alias(_FRAME), column(key).cast("string").alias(_KEY))
        for i, frame in enumerate(frames)
    ]
    groups = reduce(lambda a, b: a.unionByName(b), parts).groupBy(_FRAME, _KEY).agg(
        F.count(F.lit(1)).alias("n")
    )
    repeated = F.col(_KEY).isNotNull() & (F.col("n") > 1)
    result = groups.groupBy(_FRAME).agg(
        F.sum("n").alias("rows"),
        F.sum(F.when(repeated, F.col("n") - 1).otherwise(0)).alias("extra"),
        F.sum(F.when(repeated, 1).otherwise(0)).alias("repeated"),
        F.lit(None).cast("string").alias(_KEY),
    )
    if sample_size > 0:
        first = F.row_number().over(Window.partitionBy(_FRAME).orderBy(_KEY))
        result = result.unionByName(
            groups.where(repeated)
            .withColumn("_rp_rank", first)
            .where(F.col("_rp_rank") <= sample_size)
            .select(
                F.col(_FRAME),
                *[F.lit(0).cast("long").alias(name) for name in ("rows", "extra", "repeated")],
                F.col(_KEY),
            )
        )
    totals = {i: [0, 0, 0] for i in range(len(frames))}
    samples: dict[int, list[str]] = {i: [] for i in range(len(frames))}
    for row in result.collect():
        if row[_KEY] is not None:
            samples[row[_FRAME]].append(str(row[_KEY]))
        else:
            totals[row[_FRAME]] = [int(row["rows"] or 0), int(row["extra"] or 0),
                                   int(row["repeated"] or 0)]
    return [
        KeyTotals(rows, DuplicateKeys(extra, repeated_keys, tuple(sorted(samples[i])))
                  if extra else NO_DUPLICATES)
        for i, (rows, extra, repeated_keys) in totals.items()
    ]
