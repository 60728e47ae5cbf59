"""Key diffs, source diffs and orphan counts as Spark jobs: joins of keys and row hashes.

Each side of a comparison is reduced on the executors to (key, state, row hash) with the same
hashing as the delta-rs engine (`hashing.row_hash_mapper` over the fingerprint's row
hash), then joined by Spark. Only counts, samples and the rows a caller asked for by contract
(a source diff's changed and missing rows) come back to the driver, as Arrow. Each side's keys
are first checked for repeats (`duplicates.key_totals`, one job for both sides): a join would
pair a repeated key's rows with each other and miscount.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import pyarrow as pa

from recovery_platform.engine.errors import DuplicateKeysError
from recovery_platform.engine.spark.duplicates import key_totals
from recovery_platform.engine.spark.frames import (
    STATE_ACTIVE,
    STATE_DELETED,
    STATE_PURGED,
    column,
    state_code,
)
from recovery_platform.engine.spark.hashing import HASH_COLUMN, row_hash_mapper, ship_by_value
from recovery_platform.engine.values import (
    DUPLICATE_SAMPLE_SIZE,
    KeyDiff,
    OrphanCount,
    SourceDiff,
    TableShape,
)

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

__all__ = ["key_diff", "orphan_count", "source_diff"]

STATE_NAMES = {STATE_ACTIVE: "active", STATE_DELETED: "deleted", STATE_PURGED: "purged"}
TARGET_COLUMNS = ("_target_present", "_target_deleted", "_target_purged")
_KEY, _STATE = "_rp_key", "_rp_state"


def _keyed_hashes(
    frame: DataFrame, key: str, shape: TableShape, hashed: Sequence[str]
) -> DataFrame:
    """(key as text, state, row hash over `hashed`) of every row with a key."""
    from pyspark.sql import functions as F

    ship_by_value()
    own = [name for name in hashed if name in frame.columns]
    prepared = frame.where(column(key).isNotNull()).select(
        *[column(name) for name in own],
        column(key).cast("string").alias(_KEY),
        state_code(frame, shape).alias(_STATE),
    )
    schema = f"{_KEY} string, {_STATE} int, {HASH_COLUMN} long"
    mapped = prepared.mapInArrow(row_hash_mapper(list(hashed), [_KEY, _STATE]), schema)
    return mapped.select(F.col(_KEY), F.col(_STATE), F.col(HASH_COLUMN))


def key_diff(
    before: DataFrame,
    after: DataFrame,
    shape: TableShape,
    versions: tuple[int, int],
    sample_size: int,
    uri: str,
) -> KeyDiff:
    """Net per key: added, removed and changed (content hash over both versions' columns).

    Raises:
        DuplicateKeysError: either version holds a key in more than one row.
    """
    from pyspark.sql import functions as F

    if shape.key is None:
        raise ValueError("a key diff needs the table's key column")
    sides = key_totals([before, after], shape.key, DUPLICATE_SAMPLE_SIZE)
    for side, version in zip(sides, versions, strict=True):
        if side.duplicates.found:
            raise DuplicateKeysError(uri, version, shape.key, side.duplicates)
    hashed = list(dict.fromkeys([*before.columns, *after.columns]))
    a = _keyed_hashes(before, shape.key, shape, hashed).alias("a")
    b = _keyed_hashes(after, shape.key, shape, hashed).alias("b")
    had, has = F.col(f"a.{HASH_COLUMN}").isNotNull(), F.col(f"b.{HASH_COLUMN}").isNotNull()
    kind = (
        F.when(has & ~had, F.lit("added"))
        .when(had & ~has, F.lit("removed"))
        .when(F.col(f"a.{HASH_COLUMN}") != F.col(f"b.{HASH_COLUMN}"), F.lit("changed"))
    )
    moved = had & has & (F.col(f"a.{_STATE}") != F.col(f"b.{_STATE}"))
    diffs = (
        a.join(b, on=_KEY, how="full_outer")
        .select(
            F.col(_KEY),
            kind.alias("kind"),
            F.when(moved, F.col(f"a.{_STATE}")).alias("from_state"),
            F.when(moved, F.col(f"b.{_STATE}")).alias("to_state"),
        )
        .where(F.col("kind").isNotNull() | F.col("from_state").isNotNull())
    )
    rows = _counts_and_samples(diffs, sample_size).collect()
    totals = {"added": 0, "removed": 0, "changed": 0}
    samples: dict[str, list[str]] = {"added": [], "removed": [], "changed": []}
    state_changes: dict[str, int] = {}
    for row in rows:
        if row[_KEY] is not None:
            samples[row["kind"]].append(str(row[_KEY]))
            continue
        if row["kind"] is not None:
            totals[row["kind"]] += int(row["n"])
        if row["from_state"] is not None:
            name = f"{STATE_NAMES[row['from_state']]}->{STATE_NAMES[row['to_state']]}"
            state_changes[name] = state_changes.get(name, 0) + int(row["n"])
    return KeyDiff(
        from_version=versions[0],
        to_version=versions[1],
        added=totals["added"],
        removed=totals["removed"],
        changed=totals["changed"],
        state_changes=dict(sorted(state_changes.items())),
        sample_added=tuple(sorted(samples["added"])),
        sample_removed=tuple(sorted(samples["removed"])),
        sample_changed=tuple(sorted(samples["changed"])),
        method="key_scan",
    )


def _counts_and_samples(diffs: DataFrame, size: int) -> DataFrame:
    """Counts per (kind, state move) and the first `size` keys of each kind, in one result.

    One Spark job answers both: job start-up, not data, dominates small diffs.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    counts = diffs.groupBy("kind", "from_state", "to_state").agg(
        F.count(F.lit(1)).alias("n"), F.lit(None).cast("string").alias(_KEY)
    )
    if size <= 0:
        return counts
    order = Window.partitionBy("kind").orderBy(_KEY)
    samples = (
        diffs.where(F.col("kind").isNotNull())
        .withColumn("_rp_rank", F.row_number().over(order))
        .where(F.col("_rp_rank") <= size)
        .select(
            F.col("kind"),
            F.lit(None).cast("int").alias("from_state"),
            F.lit(None).cast("int").alias("to_state"),
            F.lit(0).cast("long").alias("n"),
            F.col(_KEY),
        )
    )
    return counts.unionByName(samples)


def _target_flags(present: Column, state: Column) -> list[Column]:
    from pyspark.sql import functions as F

    return [
        present.alias(TARGET_COLUMNS[0]),
        (F.coalesce(state, F.lit(STATE_ACTIVE)) == STATE_DELETED).alias(TARGET_COLUMNS[1]),
        (F.coalesce(state, F.lit(STATE_ACTIVE)) == STATE_PURGED).alias(TARGET_COLUMNS[2]),
    ]


def source_diff(
    source: DataFrame,
    table: DataFrame | None,
    shape: TableShape,
    compare: Sequence[str],
    table_version: tuple[str, Callable[[], int]],
) -> SourceDiff:
    """Source rows that are new, differ or reappear, and active rows the source lacks.

    `table` is None when the table does not exist yet: every source row is then new. A source
    repeating a key is reported and not compared; a table repeating one raises
    `DuplicateKeysError` (`table_version`: the table's uri, and how to read its version).
    """
    from pyspark.sql import functions as F
    from pyspark.sql.types import LongType, StringType, StructField, StructType

    if shape.key is None:
        raise ValueError("a source diff needs the table's key column")
    key, names = shape.key, source.columns
    totals = key_totals([source] if table is None else [source, table], key,
                        DUPLICATE_SAMPLE_SIZE)
    if table is not None and totals[1].duplicates.found:
        raise DuplicateKeysError(table_version[0], table_version[1](), key, totals[1].duplicates)
    source_rows, repeated = totals[0].rows, totals[0].duplicates
    if table is None or repeated.found:
        rows = source.limit(0) if repeated.found else source
        changed = rows.select(*[column(n) for n in names], *_target_flags(F.lit(False), F.lit(0)))
        return SourceDiff(changed.toArrow(), pa.table({}), unchanged=0, source_rows=source_rows,
                          duplicates=repeated)
    ship_by_value()
    schema = StructType(
        [
            *source.schema.fields,
            StructField(_KEY, StringType()),
            StructField(HASH_COLUMN, LongType()),
        ]
    )
    hashed_source = source.withColumn(_KEY, column(key).cast("string")).mapInArrow(
        row_hash_mapper(list(compare), [*names, _KEY]), schema
    )
    target = _keyed_hashes(table, key, shape, compare).select(
        F.col(_KEY), F.col(_STATE), F.col(HASH_COLUMN).alias("_rp_target_hash")
    )
    joined = hashed_source.join(target, on=_KEY, how="left")
    present = F.col("_rp_target_hash").isNotNull()
    touched = (
        ~present
        | (F.col(HASH_COLUMN) != F.col("_rp_target_hash"))
        | (F.col(_STATE) != STATE_ACTIVE)
    )
    changed = (
        joined.where(touched)
        .orderBy(_KEY)
        .select(*[column(n) for n in names], *_target_flags(present, F.col(_STATE)))
        .toArrow()
    )
    active = table.where(state_code(table, shape) == STATE_ACTIVE).where(column(key).isNotNull())
    source_keys = source.select(column(key).cast("string").alias(_KEY)).distinct()
    missing = (
        active.join(source_keys, column(key).cast("string") == F.col(_KEY), "left_anti")
        .orderBy(column(key))
        .toArrow()
    )
    return SourceDiff(
        changed, missing, unchanged=source_rows - changed.num_rows, source_rows=source_rows
    )


def orphan_count(
    child: DataFrame, child_column: str, parent: DataFrame, parent_key: str, sample_size: int
) -> OrphanCount:
    """Child rows whose non-null foreign key matches no parent row (deleted parents match)."""
    from pyspark.sql import functions as F

    references = child.select(column(child_column).cast("string").alias("_rp_fk")).where(
        F.col("_rp_fk").isNotNull()
    )
    keys = parent.select(column(parent_key).cast("string").alias("_rp_pk")).distinct()
    orphans = references.join(keys, F.col("_rp_fk") == F.col("_rp_pk"), "left_anti")
    count = orphans.count()
    if count == 0 or sample_size <= 0:
        return OrphanCount(count=count, sample_keys=())
    rows = orphans.distinct().orderBy("_rp_fk").limit(sample_size).collect()
    return OrphanCount(count=count, sample_keys=tuple(str(r["_rp_fk"]) for r in rows))
