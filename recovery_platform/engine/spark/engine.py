"""The Spark + Delta Lake engine: the same platform on a distributed engine.

The caller creates the session (`session.build_spark_session`, or dagster-pyspark's
`PySparkResource` in the Dagster layer) and passes it in; nothing here imports dagster.
Computations run where the data is: counts are one aggregate query, fingerprints and diffs are
`mapInArrow` jobs over the same row hash as the delta-rs engine, and only small results reach
the driver. Table operations go through the Delta Lake Python API; the two statements without
an API (`sql`) are assembled from validated parts only.

Commit metadata travels as a JSON object in Delta's standard `userMetadata` field: as a writer
option where Spark has one, otherwise through the session setting around the call. Because that
setting is session-wide, every commit the engine makes holds one process-wide lock
(`commits.COMMIT_LOCK`), which is also why restores on Spark run one at a time.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING

import pyarrow as pa

from recovery_platform.engine.guard import guard_operations
from recovery_platform.engine.interface import Scalar, StorageEngine
from recovery_platform.engine.retention_properties import check_retention
from recovery_platform.engine.spark import diff as spark_diff
from recovery_platform.engine.spark import maintenance as spark_maintenance
from recovery_platform.engine.spark import writes
from recovery_platform.engine.spark.commits import (
    USER_METADATA_CONF,
    commit_history,
    committing,
    table_state,
)
from recovery_platform.engine.spark.duplicates import key_totals
from recovery_platform.engine.spark.errors import translate
from recovery_platform.engine.spark.frames import read_rows
from recovery_platform.engine.spark.sql import checked_int, table_location
from recovery_platform.engine.spark.summaries import fingerprints, row_counts
from recovery_platform.engine.spark.tables import (
    READER_FEATURES,
    WRITER_FEATURES,
    check_features,
    delta_table,
    table_detail,
    table_exists,
    table_frame,
)
from recovery_platform.engine.values import (
    NO_DUPLICATES,
    CommitInfo,
    DuplicateKeys,
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
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["USER_METADATA_CONF", "SparkEngine"]


@guard_operations(translate)
class SparkEngine(StorageEngine):
    """Delta Lake through Spark, for tables that outgrow one machine.

    Args:
        spark: a session with the Delta extension and catalog configured
            (`session.delta_spark_conf`).
        storage_conf: Hadoop settings for the lakehouse storage
            (`storage.storage_session_conf`), set on the session: every read and write
            of the session, Delta's log included, sees them.
    """

    capabilities = EngineCapabilities(
        name="spark",
        reader_features=READER_FEATURES,
        writer_features=WRITER_FEATURES,
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

    def without_memory(self) -> SparkEngine:
        """A new engine on the same session (Delta Lake refreshes its snapshots from the log)."""
        return SparkEngine(self._spark)

    def _delta(self, uri: str) -> DeltaTable:
        return delta_table(self._spark, uri)

    def _frame(self, uri: str, version: int | None = None) -> DataFrame:
        """The table's rows at a version, as a lazy DataFrame (nothing is read yet)."""
        return table_frame(self._spark, uri, version)

    def table_exists(self, uri: str) -> bool:
        """Whether a Delta table lives at `uri`."""
        return table_exists(self._spark, uri)

    def create_table(
        self, uri: str, schema: pa.Schema, *, properties: Mapping[str, str]
    ) -> TableState:
        """Create an empty table with `properties` in one commit; an existing one is left."""
        writes.create_table(self._spark, uri, schema, properties)
        return self.state(uri)

    def append(
        self, uri: str, data: pa.Table, *, commit_metadata: Mapping[str, str] | None = None
    ) -> int:
        """Append rows in one commit (creating the table if absent); returns the new version."""
        return writes.append(self._spark, uri, data, commit_metadata)

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
        return writes.overwrite(self._spark, uri, data, properties, commit_metadata)

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
        return writes.merge_upsert(self._spark, uri, data, key, commit_metadata)

    def add_columns(
        self,
        uri: str,
        fields: Sequence[pa.Field],
        *,
        commit_metadata: Mapping[str, str] | None = None,
    ) -> int:
        """Add nullable columns by an append of no rows with `mergeSchema` (one commit)."""
        return writes.add_columns(self._spark, uri, list(fields), commit_metadata)

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
        return writes.update_where(self._spark, uri, equals, values, commit_metadata)

    def read(
        self,
        uri: str,
        *,
        columns: Sequence[str] | None = None,
        equals: Mapping[str, Scalar] | None = None,
        version: int | None = None,
    ) -> pa.Table:
        """Rows matching `equals` (None matches null). For metadata and small reads only."""
        return read_rows(self._frame(uri, version), columns, equals)

    def schema(self, uri: str, version: int | None = None) -> pa.Schema:
        """The table's logical schema at a version, as Arrow (the types `read` returns)."""
        return self._frame(uri, version).limit(0).toArrow().schema

    def state(self, uri: str, version: int | None = None) -> TableState:
        """Version, commit timestamp and table id."""
        return table_state(self._spark, uri, version)

    def history(self, uri: str, *, limit: int | None = None) -> list[CommitInfo]:
        """Commits, newest first, with our metadata decoded from `userMetadata`."""
        return commit_history(self._spark, uri, limit)

    def row_counts(self, uri: str, shape: TableShape, version: int | None = None) -> RowCounts:
        """Counts by tracking state from one aggregate query over the version's rows."""
        return row_counts(self._frame(uri, version), shape)

    def fingerprint(self, uri: str, shape: TableShape, version: int | None = None) -> int:
        """The record-state fingerprint: per-partition sums on executors, summed on the driver."""
        frame = self._frame(uri, version)
        covered = shape.record_state_columns(frame.columns)
        return self._fingerprints([frame.select(*covered) if covered else frame])[0]

    @staticmethod
    def _fingerprints(frames: Sequence[DataFrame]) -> list[int]:
        """Fingerprints of several frames in one Spark job; only one row per partition returns."""
        return fingerprints(frames)

    def duplicate_keys(
        self, uri: str, shape: TableShape, version: int | None = None, *, sample_size: int = 10
    ) -> DuplicateKeys:
        """Keys held by more than one row: one `groupBy` job, a few keys back to the driver."""
        frame = self._frame(uri, version)
        if shape.key is None or shape.key not in frame.columns:
            return NO_DUPLICATES
        return key_totals([frame], shape.key, checked_int(sample_size, "sample_size"))[0].duplicates

    def key_diff(
        self,
        uri: str,
        shape: TableShape,
        from_version: int,
        to_version: int,
        *,
        sample_size: int = 10,
        unique_versions: Collection[int] = (),
    ) -> KeyDiff:
        """Key-level, netted difference between two versions (either order), by a key scan.

        Repeated keys are checked on both scanned versions (one more Spark job); skipping that
        for `unique_versions` is not done yet on Spark, so the argument is accepted and unused.
        """
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
            uri,
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
        return spark_diff.source_diff(source, table, shape, list(compare_columns),
                                      (uri, lambda: self.state(uri).version))

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
        return spark_maintenance.restore(
            self._spark, uri, version, commit_metadata, compare_content=compare_content
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
        check_retention(retention_hours)
        table_location(uri)
        keep = [checked_int(v, "keep_versions") for v in keep_versions]
        detail = table_detail(self._spark, uri)
        table = delta_table(self._spark, uri, detail)
        with committing(self._spark):
            return spark_maintenance.vacuum(
                self._spark,
                uri,
                table,
                retention_hours,
                dry_run=dry_run,
                kept_files=[table_frame(self._spark, uri, v, detail) for v in keep],
                properties=detail.properties,
            )

    def optimize(self, uri: str, *, zorder_columns: Sequence[str] = ()) -> OptimizeResult:
        """Compact small files, z-ordering by the given columns if any."""
        return spark_maintenance.optimize(self._spark, uri, zorder_columns)

    def clean_up_log(self, uri: str) -> None:
        """Nothing to do: Delta Spark deletes expired log entries itself.

        It does so at each log checkpoint a commit writes, by the table's own retention, which
        the retention rule keeps covering every pinned version.
        """
        delta_table(self._spark, uri)  # an absent or unsupported table is still refused

    def get_properties(self, uri: str) -> dict[str, str]:
        """The table's properties (`delta.*` and others)."""
        detail = table_detail(self._spark, uri)
        check_features(detail, writing=False)
        return detail.properties

    def set_properties(self, uri: str, properties: Mapping[str, str]) -> int:
        """Set table properties in one commit; the only ALTER TABLE, from validated parts."""
        return writes.set_properties(self._spark, uri, properties)

    def is_restorable(self, uri: str, version: int, table_id: str) -> Restorability:
        """The log loads, every data file the version needs exists, and the id is `table_id`."""
        return spark_maintenance.is_restorable(self._spark, uri, version, table_id)
