"""The commits that change a table's rows or properties on Spark, each carrying our metadata.

A sync writes each table every day and a rollback later finds those commits again, so every
write here is one commit made under the commit lock (`commits.committing`). Incoming Arrow
columns are cast to the table's types, conditions and values are Column expressions with typed
literals, and the only SQL text (ALTER TABLE SET TBLPROPERTIES) is built from validated parts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import pyarrow as pa

from recovery_platform.engine.interface import Scalar
from recovery_platform.engine.spark.commits import committing, encode_metadata
from recovery_platform.engine.spark.frames import column, frame_from_arrow
from recovery_platform.engine.spark.sql import alter_properties_sql, identifiers
from recovery_platform.engine.spark.tables import (
    delta_table,
    latest_version,
    table_exists,
    table_frame,
    writable,
)

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

__all__ = [
    "append",
    "create_table",
    "merge_upsert",
    "overwrite",
    "set_properties",
    "update_where",
]


def create_table(
    spark: SparkSession, uri: str, schema: pa.Schema, properties: Mapping[str, str]
) -> None:
    """Create an empty table with `properties` in one commit; an existing one is left."""
    from delta.tables import DeltaTable
    from pyspark.sql.pandas.types import from_arrow_schema

    if not table_exists(spark, uri):
        builder = DeltaTable.createIfNotExists(spark).location(uri)
        builder = builder.addColumns(from_arrow_schema(schema))
        for key, value in properties.items():
            builder = builder.property(key, value)
        with committing(spark):
            builder.execute()


def append(
    spark: SparkSession, uri: str, data: pa.Table, commit_metadata: Mapping[str, str] | None
) -> int:
    """Append rows in one commit (creating the table if absent); returns the new version."""
    frame = frame_from_arrow(spark, data)
    detail = writable(spark, uri) if table_exists(spark, uri) else None
    if detail is not None:
        frame = _conform(frame, table_frame(spark, uri, None, detail))
    writer = frame.write.format("delta").mode("append")
    encoded = encode_metadata(commit_metadata)
    if encoded is not None:
        writer = writer.option("userMetadata", encoded)
    with committing(spark):
        writer.save(uri)
    return latest_version(spark, uri, detail)


def _conform(frame: DataFrame, table: DataFrame) -> DataFrame:
    """Cast incoming columns to the table's types (an int32 extract into a long column)."""
    types = {f.name: f.dataType for f in table.schema.fields}
    return frame.select(
        *[
            column(name).cast(types[name]).alias(name) if name in types else column(name)
            for name in frame.columns
        ]
    )


def overwrite(
    spark: SparkSession,
    uri: str,
    data: pa.Table,
    properties: Mapping[str, str] | None,
    commit_metadata: Mapping[str, str] | None,
) -> int:
    """Replace the table's rows and schema in one commit, creating it if absent.

    `delta.*` properties of a new table go into the same commit (Delta takes them as writer
    options); other keys, and any properties of an existing table, follow in a second commit.
    """
    exists = table_exists(spark, uri)
    wanted = dict(properties or {})
    writer = (
        frame_from_arrow(spark, data)
        .write.format("delta")
        .mode("overwrite")
        .option("overwriteSchema", "true")
    )
    encoded = encode_metadata(commit_metadata)
    if encoded is not None:
        writer = writer.option("userMetadata", encoded)
    if not exists:
        for key, value in wanted.items():
            if key.startswith("delta."):
                writer = writer.option(key, value)
    with committing(spark):
        writer.save(uri)
    later = wanted if exists else {k: v for k, v in wanted.items() if not k.startswith("delta.")}
    if later:
        return set_properties(spark, uri, later)
    return latest_version(spark, uri)


def merge_upsert(
    spark: SparkSession,
    uri: str,
    data: pa.Table,
    key: str,
    commit_metadata: Mapping[str, str] | None,
) -> int:
    """Update every column of matching keys and insert the rest, in one commit.

    Schema evolution: new columns are added; columns the data lacks keep their values
    on update and are null on insert. A table that does not exist yet is created.
    """
    identifiers([key, *data.column_names])
    if not table_exists(spark, uri):
        return append(spark, uri, data, commit_metadata)
    from pyspark.sql import functions as F

    detail = writable(spark, uri)
    source = _conform(frame_from_arrow(spark, data), table_frame(spark, uri, None, detail))
    condition = F.col(f"t.{key}") == F.col(f"s.{key}")
    merge = delta_table(spark, uri, detail).alias("t").merge(source.alias("s"), condition)
    with committing(spark, commit_metadata):
        merge.whenMatchedUpdateAll().whenNotMatchedInsertAll().withSchemaEvolution().execute()
    return latest_version(spark, uri)


def add_columns(
    spark: SparkSession,
    uri: str,
    fields: list[pa.Field],
    commit_metadata: Mapping[str, str] | None,
) -> int:
    """Add nullable columns by appending no rows with `mergeSchema`: one commit, no SQL text.

    The empty frame carries every existing column too, so NOT NULL columns are satisfied.
    """
    identifiers([f.name for f in fields])
    detail = writable(spark, uri)
    table = table_frame(spark, uri, None, detail)
    added = [f.with_nullable(True) for f in fields if f.name not in set(table.columns)]
    if added:
        new = frame_from_arrow(spark, pa.schema(added).empty_table())
        empty = table.limit(0).crossJoin(new)
        writer = empty.write.format("delta").mode("append").option("mergeSchema", "true")
        encoded = encode_metadata(commit_metadata)
        if encoded is not None:
            writer = writer.option("userMetadata", encoded)
        with committing(spark):
            writer.save(uri)
    return latest_version(spark, uri, detail)


def update_where(
    spark: SparkSession,
    uri: str,
    equals: Mapping[str, Scalar],
    values: Mapping[str, Scalar],
    commit_metadata: Mapping[str, str] | None,
) -> int:
    """Set `values` on rows whose columns equal `equals` (None matches null), in one commit.

    Conditions and values are Column expressions with typed literals: no SQL text.
    """
    from pyspark.sql import functions as F

    identifiers([*equals, *values])
    if not values:
        raise ValueError("update_where needs at least one column to set")
    detail = writable(spark, uri)
    types = {f.name: f.dataType for f in table_frame(spark, uri, None, detail).schema.fields}
    unknown = [name for name in [*equals, *values] if name not in types]
    if unknown:
        raise ValueError(f"columns {unknown} are not in the table; it has {sorted(types)}")
    condition = None
    for name, value in equals.items():
        term = column(name).isNull() if value is None else column(name) == F.lit(value)
        condition = term if condition is None else condition & term
    assignments: dict[str, str | Column] = {
        name: F.lit(value).cast(types[name]) for name, value in values.items()
    }
    table = delta_table(spark, uri, detail)
    with committing(spark, commit_metadata):
        if condition is None:
            table.update(set=assignments)
        else:
            table.update(condition, assignments)
    return latest_version(spark, uri, detail)


def set_properties(spark: SparkSession, uri: str, properties: Mapping[str, str]) -> int:
    """Set table properties in one commit; the only ALTER TABLE, from validated parts."""
    statement = alter_properties_sql(uri, properties)
    detail = writable(spark, uri)
    with committing(spark):
        spark.sql(statement)
    return latest_version(spark, uri, detail)
