"""The Spark + Delta Lake engine: the same platform on a distributed engine.

The caller creates the session (`spark_session.build_spark_session`, or dagster-pyspark's
`PySparkResource` in the Dagster layer) and passes it in; nothing here imports dagster.
Computations run where the data is: counts are one aggregate query, fingerprints and diffs are
`mapInArrow` jobs over the same row hash as the delta-rs engine, and only small results reach
the driver. Table operations go through the Delta Lake Python API; the two statements without
an API (`spark_sql`) are assembled from validated parts only.

Commit metadata travels as a JSON object in Delta's standard `userMetadata` field: as a writer
option where Spark has one, otherwise through the session setting around the call. Because that
setting is session-wide, every commit made through this module holds one process-wide lock,
which is also why restores on Spark run one at a time.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from recovery_platform.engine.errors import TableNotFoundError, VersionNotAvailableError
from recovery_platform.engine.fingerprint import EMPTY_FINGERPRINT, combine
from recovery_platform.engine.interface import Scalar, StorageEngine
from recovery_platform.engine.spark import diff as spark_diff
from recovery_platform.engine.spark import maintenance as spark_maintenance
from recovery_platform.engine.spark.frames import column, flag, frame_from_arrow
from recovery_platform.engine.spark.hashing import (
    PARTIAL_SCHEMA,
    from_halves,
    partial_fingerprints,
    ship_by_value,
)
from recovery_platform.engine.spark.sql import (
    alter_properties_sql,
    checked_int,
    identifiers,
    table_location,
)
from recovery_platform.engine.values import (
    NO_DATA_CHANGE_OPERATIONS,
    CommitInfo,
    EngineCapabilities,
    KeyDiff,
    OptimizeResult,
    OrphanCount,
    Restorability,
    RestoreResult,
    RowCounts,
    SourceDiff,
    StorageDelta,
    TableShape,
    TableState,
    VacuumResult,
)

if TYPE_CHECKING:
    from delta.tables import DeltaTable
    from pyspark.sql import Column, DataFrame, SparkSession

__all__ = ["USER_METADATA_CONF", "SparkEngine"]

USER_METADATA_CONF = "spark.databricks.delta.commitInfo.userMetadata"
"""Session setting Delta copies into `userMetadata` of every commit made while it is set."""

_COMMIT_LOCK = threading.RLock()


def _encode(commit_metadata: Mapping[str, str] | None) -> str | None:
    """Our commit metadata as the JSON object stored in `userMetadata`."""
    if not commit_metadata:
        return None
    return json.dumps({str(k): str(v) for k, v in commit_metadata.items()}, sort_keys=True)


def _decode(user_metadata: str | None) -> dict[str, str]:
    """`userMetadata` back into our mapping; text that is not a JSON object is not ours."""
    if not user_metadata:
        return {}
    try:
        value = json.loads(user_metadata)
    except ValueError:
        return {}
    if not isinstance(value, dict):
        return {}
    return {str(k): v for k, v in value.items() if isinstance(v, str)}


def _commit_info(row: Mapping[str, Any]) -> CommitInfo:
    operation = str(row["operation"])
    parameters = {
        str(k): v if isinstance(v, str) else json.dumps(v)
        for k, v in (row["operationParameters"] or [])
    }
    return CommitInfo(
        version=int(row["version"]),
        timestamp=row["timestamp"],
        operation=operation,
        data_change=operation not in NO_DATA_CHANGE_OPERATIONS,
        parameters=parameters,
        user_metadata=_decode(row["userMetadata"]),
    )


class SparkEngine(StorageEngine):
    """Delta Lake through Spark, for tables that outgrow one machine.

    Args:
        spark: a session with the Delta extension and catalog configured
            (`spark_session.delta_spark_conf`).
        storage_conf: Hadoop settings for the lakehouse storage
            (`spark_storage.storage_session_conf`), set on the session: every read and write
            of the session, Delta's log included, sees them.
    """

    capabilities = EngineCapabilities(
        name="spark",
        reads_deletion_vectors=True,
        vacuum_keep_versions=False,
        restore_commit_metadata=False,
        concurrent_restores=False,
        requires_in_process_executor=True,
        parallel_tables=False,
    )
    """Spark parallelises inside each job; the commit metadata travels through one session-wide
    setting, so calls on several tables at once would only queue on the commit lock."""

    def __init__(
        self, spark: SparkSession, *, storage_conf: Mapping[str, str] | None = None
    ) -> None:
        self._spark = spark
        for key, value in (storage_conf or {}).items():
            spark.conf.set(key, value)

    @contextmanager
    def _commit(self, commit_metadata: Mapping[str, str] | None = None) -> Iterator[None]:
        """Hold the commit lock with the session's `userMetadata` set to ours (or unset)."""
        with _COMMIT_LOCK:
            encoded = _encode(commit_metadata)
            if encoded is None:
                self._spark.conf.unset(USER_METADATA_CONF)
            else:
                self._spark.conf.set(USER_METADATA_CONF, encoded)
            try:
                yield
            finally:
                self._spark.conf.unset(USER_METADATA_CONF)

    def _delta(self, uri: str) -> DeltaTable:
        from delta.tables import DeltaTable

        if not self.table_exists(uri):
            raise TableNotFoundError(f"no Delta table at {uri}")
        return DeltaTable.forPath(self._spark, uri)

    def _frame(self, uri: str, version: int | None = None) -> DataFrame:
        """The table's rows at a version, as a lazy DataFrame (nothing is read yet)."""
        if version is not None:
            version = checked_int(version, "version")
        if not self.table_exists(uri):
            raise TableNotFoundError(f"no Delta table at {uri}")
        reader = self._spark.read.format("delta")
        if version is not None:
            reader = reader.option("versionAsOf", version)
        with spark_maintenance.version_errors(uri, version):
            frame = reader.load(uri)
            frame.schema  # noqa: B018 - resolving the schema loads the log at that version
        return frame

    def _latest_version(self, uri: str) -> int:
        return int(self._delta(uri).history(1).select("version").collect()[0]["version"])

    def table_exists(self, uri: str) -> bool:
        """Whether a Delta table lives at `uri`."""
        from delta.tables import DeltaTable

        return bool(DeltaTable.isDeltaTable(self._spark, uri))

    def create_table(
        self, uri: str, schema: pa.Schema, *, properties: Mapping[str, str]
    ) -> TableState:
        """Create an empty table with `properties` in one commit; an existing one is left."""
        from delta.tables import DeltaTable
        from pyspark.sql.pandas.types import from_arrow_schema

        if not self.table_exists(uri):
            builder = DeltaTable.createIfNotExists(self._spark).location(uri)
            builder = builder.addColumns(from_arrow_schema(schema))
            for key, value in properties.items():
                builder = builder.property(key, value)
            with self._commit():
                builder.execute()
        return self.state(uri)

    def append(
        self, uri: str, data: pa.Table, *, commit_metadata: Mapping[str, str] | None = None
    ) -> int:
        """Append rows in one commit (creating the table if absent); returns the new version."""
        frame = frame_from_arrow(self._spark, data)
        if self.table_exists(uri):
            frame = self._conform(frame, self._frame(uri))
        writer = frame.write.format("delta").mode("append")
        encoded = _encode(commit_metadata)
        if encoded is not None:
            writer = writer.option("userMetadata", encoded)
        with self._commit():
            writer.save(uri)
        return self._latest_version(uri)

    @staticmethod
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
        self,
        uri: str,
        data: pa.Table,
        *,
        properties: Mapping[str, str] | None = None,
        commit_metadata: Mapping[str, str] | None = None,
    ) -> int:
        """Replace the table's rows and schema in one commit, creating it if absent.

        `delta.*` properties of a new table go into the same commit (Delta takes them as
        writer options); other keys, and any properties of an existing table, follow in a
        second commit.
        """
        exists = self.table_exists(uri)
        wanted = dict(properties or {})
        writer = (
            frame_from_arrow(self._spark, data)
            .write.format("delta")
            .mode("overwrite")
            .option("overwriteSchema", "true")
        )
        encoded = _encode(commit_metadata)
        if encoded is not None:
            writer = writer.option("userMetadata", encoded)
        if not exists:
            for key, value in wanted.items():
                if key.startswith("delta."):
                    writer = writer.option(key, value)
        with self._commit():
            writer.save(uri)
        later = (
            wanted if exists else {k: v for k, v in wanted.items() if not k.startswith("delta.")}
        )
        if later:
            return self.set_properties(uri, later)
        return self._latest_version(uri)

    def merge_upsert(
        self,
        uri: str,
        data: pa.Table,
        *,
        key: str,
        commit_metadata: Mapping[str, str] | None = None,
    ) -> int:
        """Update every column of matching keys and insert the rest, in one commit.

        Schema evolution: new columns are added; columns the data lacks keep their values
        on update and are null on insert. A table that does not exist yet is created.
        """
        identifiers([key, *data.column_names])
        if not self.table_exists(uri):
            return self.append(uri, data, commit_metadata=commit_metadata)
        from pyspark.sql import functions as F

        source = self._conform(frame_from_arrow(self._spark, data), self._frame(uri))
        condition = F.col(f"t.{key}") == F.col(f"s.{key}")
        merge = self._delta(uri).alias("t").merge(source.alias("s"), condition)
        with self._commit(commit_metadata):
            merge.whenMatchedUpdateAll().whenNotMatchedInsertAll().withSchemaEvolution().execute()
        return self._latest_version(uri)

    def update_where(
        self,
        uri: str,
        *,
        equals: Mapping[str, Scalar],
        values: Mapping[str, Scalar],
        commit_metadata: Mapping[str, str] | None = None,
    ) -> int:
        """Set `values` on rows whose columns equal `equals` (None matches null), in one commit.

        Conditions and values are Column expressions with typed literals: no SQL text.
        """
        from pyspark.sql import functions as F

        identifiers([*equals, *values])
        if not values:
            raise ValueError("update_where needs at least one column to set")
        types = {f.name: f.dataType for f in self._frame(uri).schema.fields}
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
        table = self._delta(uri)
        with self._commit(commit_metadata):
            if condition is None:
                table.update(set=assignments)
            else:
                table.update(condition, assignments)
        return self._latest_version(uri)

    def read(
        self,
        uri: str,
        *,
        columns: Sequence[str] | None = None,
        equals: Mapping[str, Scalar] | None = None,
        version: int | None = None,
    ) -> pa.Table:
        """Rows matching `equals` (None matches null). For metadata and small reads only."""
        frame = self._frame(uri, version)
        names = list(columns) if columns is not None else frame.columns
        missing = [n for n in [*names, *(equals or {})] if n not in frame.columns]
        if missing:
            raise ValueError(f"columns {missing} are not in the table; it has {frame.columns}")
        for name, value in (equals or {}).items():
            frame = frame.where(column(name).isNull() if value is None else column(name) == value)
        return frame.select(*[column(n) for n in names]).toArrow()

    def schema(self, uri: str, version: int | None = None) -> pa.Schema:
        """The table's logical schema at a version, as Arrow (the types `read` returns)."""
        return self._frame(uri, version).limit(0).toArrow().schema

    def state(self, uri: str, version: int | None = None) -> TableState:
        """Version, commit timestamp and table id."""
        table = self._delta(uri)
        if version is None:
            commits = [_commit_info(r) for r in _history_rows(table, 1)]
        else:
            target = checked_int(version, "version")
            history = table.history().where(column("version") == target)
            commits = [_commit_info(r) for r in _history_rows(history, None)]
        if not commits:
            raise VersionNotAvailableError(
                f"version {version} of {uri} has no commit in the log (it does not exist or "
                "log cleanup removed it)"
            )
        table_id = str(table.detail().select("id").collect()[0]["id"])
        return TableState(
            version=commits[0].version, timestamp=commits[0].timestamp, table_id=table_id
        )

    def history(self, uri: str, *, limit: int | None = None) -> list[CommitInfo]:
        """Commits, newest first, with our metadata decoded from `userMetadata`."""
        if limit is not None:
            limit = checked_int(limit, "limit")
        return [_commit_info(row) for row in _history_rows(self._delta(uri), limit)]

    def row_counts(self, uri: str, shape: TableShape, version: int | None = None) -> RowCounts:
        """Counts by tracking state from one aggregate query over the version's rows."""
        from pyspark.sql import functions as F

        frame = self._frame(uri, version)
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

    def fingerprint(self, uri: str, shape: TableShape, version: int | None = None) -> int:
        """The record-state fingerprint: per-partition sums on executors, summed on the driver."""
        frame = self._frame(uri, version)
        covered = shape.record_state_columns(frame.columns)
        return self._fingerprints([frame.select(*covered) if covered else frame])[0]

    @staticmethod
    def _fingerprints(frames: Sequence[DataFrame]) -> list[int]:
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

    def key_diff(
        self,
        uri: str,
        shape: TableShape,
        from_version: int,
        to_version: int,
        *,
        sample_size: int = 10,
    ) -> KeyDiff:
        """Key-level, netted difference between two versions (either order), by a key scan."""
        if shape.key is None:
            raise ValueError("a key diff needs the table's key column")
        before = self._frame(uri, checked_int(from_version, "from_version"))
        after = self._frame(uri, checked_int(to_version, "to_version"))
        return spark_diff.key_diff(
            before,
            after,
            shape,
            (from_version, to_version),
            checked_int(sample_size, "sample_size"),
        )

    def source_diff(
        self,
        uri: str,
        source_uri: str,
        shape: TableShape,
        *,
        compare_columns: Sequence[str],
    ) -> SourceDiff:
        """Compare a full extract (Parquet at `source_uri`) with the table's current rows."""
        source = self._spark.read.parquet(source_uri)
        table = self._frame(uri) if self.table_exists(uri) else None
        return spark_diff.source_diff(source, table, shape, list(compare_columns))

    def orphan_count(
        self,
        child_uri: str,
        child_column: str,
        parent_uri: str,
        parent_key: str,
        *,
        child_version: int | None = None,
        parent_version: int | None = None,
        sample_size: int = 10,
    ) -> OrphanCount:
        """Child rows whose non-null foreign key matches no parent row (an anti-join)."""
        child = self._frame(child_uri, child_version)
        parent = self._frame(parent_uri, parent_version)
        return spark_diff.orphan_count(
            child, child_column, parent, parent_key, checked_int(sample_size, "sample_size")
        )

    def storage_delta(self, uri: str, from_version: int, to_version: int) -> StorageDelta:
        """Files (and bytes) that moving from one version's file set to the other's adds/drops."""
        return spark_maintenance.storage_delta(
            self._spark, self._frame(uri, from_version), self._frame(uri, to_version)
        )

    def restore(
        self,
        uri: str,
        version: int,
        *,
        commit_metadata: Mapping[str, str],
        compare_content: bool = True,
    ) -> RestoreResult:
        """Restore to `version` in one commit, or write nothing when the table already matches.

        Restores are serialised in this process (capability `concurrent_restores=False`); the
        metadata reaches the commit through the session's `userMetadata` setting.
        """
        target_version = checked_int(version, "version")
        with _COMMIT_LOCK:
            table = self._delta(uri)
            before = self._latest_version(uri)
            plan = spark_maintenance.RestorePlan(
                self._spark, uri, self._frame(uri), self._frame(uri, target_version)
            )
            if plan.already_there(compare_content, self._fingerprints, target_version):
                return RestoreResult(before, before, noop=True, files_added=0, files_removed=0)
            with self._commit(commit_metadata), spark_maintenance.version_errors(uri, version):
                metrics = table.restoreToVersion(target_version).collect()[0].asDict()
            return RestoreResult(
                version_before=before,
                version_after=self._latest_version(uri),
                noop=False,
                files_added=int(metrics.get("num_restored_files") or 0),
                files_removed=int(metrics.get("num_removed_files") or 0),
            )

    def vacuum(
        self,
        uri: str,
        *,
        retention_hours: int,
        dry_run: bool,
        keep_versions: Sequence[int] = (),
    ) -> VacuumResult:
        """Remove unreferenced files older than the retention; never below 168 hours.

        Spark's VACUUM cannot spare individual files (capability `vacuum_keep_versions=False`):
        with `keep_versions` the vacuum runs only if it would delete no file those versions
        need, and is refused otherwise.
        """
        spark_maintenance.check_retention(retention_hours)
        table_location(uri)
        keep = [checked_int(v, "keep_versions") for v in keep_versions]
        table = self._delta(uri)
        with self._commit():
            return spark_maintenance.vacuum(
                self._spark,
                uri,
                table,
                retention_hours,
                dry_run=dry_run,
                kept_files=[self._frame(uri, v) for v in keep],
                properties=self.get_properties(uri),
            )

    def optimize(self, uri: str, *, zorder_columns: Sequence[str] = ()) -> OptimizeResult:
        """Compact small files, z-ordering by the given columns if any."""
        columns = identifiers(zorder_columns)
        table = self._delta(uri)
        with self._commit():
            builder = table.optimize()
            result = builder.executeZOrderBy(*columns) if columns else builder.executeCompaction()
            metrics = result.select("metrics.numFilesAdded", "metrics.numFilesRemoved").collect()
        added = int(metrics[0]["numFilesAdded"] or 0) if metrics else 0
        removed = int(metrics[0]["numFilesRemoved"] or 0) if metrics else 0
        return OptimizeResult(
            version=self._latest_version(uri), files_added=added, files_removed=removed
        )

    def get_properties(self, uri: str) -> dict[str, str]:
        """The table's properties (`delta.*` and others)."""
        rows = self._delta(uri).detail().select("properties").collect()
        return {str(k): str(v) for k, v in (rows[0]["properties"] or {}).items()}

    def set_properties(self, uri: str, properties: Mapping[str, str]) -> int:
        """Set table properties in one commit; the only ALTER TABLE, from validated parts."""
        statement = alter_properties_sql(uri, properties)
        self._delta(uri)
        with self._commit():
            self._spark.sql(statement)
        return self._latest_version(uri)

    def is_restorable(self, uri: str, version: int, table_id: str) -> Restorability:
        """The log loads, every data file the version needs exists, and the id is `table_id`."""
        target = checked_int(version, "version")
        if not self.table_exists(uri):
            return Restorability(False, f"there is no Delta table at {uri} any more")
        current_id = str(self._delta(uri).detail().select("id").collect()[0]["id"])
        if current_id != table_id:
            return Restorability(
                False, f"the table at {uri} was recreated: its id is no longer {table_id}"
            )
        try:
            frame = self._frame(uri, target)
        except VersionNotAvailableError as exc:
            return Restorability(False, f"version {target} cannot be restored: {exc}")
        missing = spark_maintenance.missing_files(self._spark, frame)
        if missing:
            return Restorability(
                False,
                f"{len(missing)} data file(s) of version {target} are gone (vacuumed or deleted)",
                missing_files=len(missing),
            )
        return Restorability(True)


def _history_rows(source: Any, limit: int | None) -> list[dict[str, Any]]:
    """History rows (newest first) as plain dicts with timezone-aware timestamps.

    `source` is a DeltaTable or an already filtered history DataFrame. Arrow keeps the UTC
    timestamps aware, where `collect()` would give naive local times.
    """
    frame = source if hasattr(source, "toArrow") else source.history(limit)
    wanted = ["version", "timestamp", "operation", "operationParameters", "userMetadata"]
    rows = frame.select(*wanted).orderBy(column("version").desc()).toArrow().to_pylist()
    return rows
