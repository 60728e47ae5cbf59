"""Restore, vacuum, optimize and file checks on Spark.

Recovery depends on old versions' data files, so these are the operations where a mistake
destroys history: a restore must not commit when nothing changes, and must not start when the
target's files are gone; a vacuum never goes below seven days nor below the table's own
retention, and never deletes a file that a version the caller keeps still needs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from recovery_platform.engine.errors import KeptFilesError, VersionNotAvailableError
from recovery_platform.engine.retention_properties import check_retention, file_retention_hours
from recovery_platform.engine.spark.commits import COMMIT_LOCK, committing
from recovery_platform.engine.spark.files import file_sizes, log_file_times, relative_path
from recovery_platform.engine.spark.log_keeping import LogKeeping, properties_at
from recovery_platform.engine.spark.sql import checked_int, identifiers, vacuum_dry_run_sql
from recovery_platform.engine.spark.summaries import fingerprints
from recovery_platform.engine.spark.tables import (
    TableDetail,
    delta_table,
    latest_version,
    table_detail,
    table_exists,
    table_frame,
    version_errors,
)
from recovery_platform.engine.spark.writes import set_properties
from recovery_platform.engine.values import (
    OptimizeResult,
    Restorability,
    RestoreResult,
    StorageDelta,
    VacuumResult,
)

if TYPE_CHECKING:
    from delta.tables import DeltaTable
    from pyspark.sql import DataFrame, SparkSession

__all__ = [
    "RestorePlan",
    "is_restorable",
    "missing_files",
    "optimize",
    "restore",
    "storage_delta",
    "vacuum",
]

SAFETY_MARGIN_HOURS = 1
"""The real vacuum keeps one hour more than its dry run, so it deletes a subset of that list."""


def missing_files(spark: SparkSession, frame: DataFrame) -> list[str]:
    """Data files a version references (from the log; no data read) that storage lacks."""
    sizes = file_sizes(spark, frame.inputFiles())
    return sorted(uri for uri, size in sizes.items() if size is None)


def storage_delta(spark: SparkSession, before: DataFrame, after: DataFrame) -> StorageDelta:
    """Files and bytes the `after` file set has and `before` lacks, and the reverse."""
    old, new = set(before.inputFiles()), set(after.inputFiles())
    added, removed = sorted(new - old), sorted(old - new)
    sizes = file_sizes(spark, [*added, *removed])
    return StorageDelta(
        files_added=len(added),
        files_removed=len(removed),
        bytes_added=sum(sizes[f] or 0 for f in added),
        bytes_removed=sum(sizes[f] or 0 for f in removed),
    )


class RestorePlan:
    """What a restore from the current version to a target would do, decided before it runs."""

    def __init__(self, spark: SparkSession, detail: TableDetail, current: DataFrame,
                 target: DataFrame):
        self._spark, self._uri, self._detail = spark, detail.uri, detail
        self._current, self._target = current, target

    def already_there(
        self,
        compare_content: bool,
        fingerprints: Callable[[Sequence[DataFrame]], list[int]],
        target_version: int,
    ) -> bool:
        """Whether the table already holds the target; raises if the target's files are gone.

        Equal file sets mean equal content, except on tables with deletion vectors, whose
        deletes keep the file and change only its vector: there the content is compared too.
        """
        same_files = set(self._current.inputFiles()) == set(self._target.inputFiles())
        if same_files and "deletionVectors" not in self._detail.protocol.features_to_read():
            return True
        gone = missing_files(self._spark, self._target)
        if gone:
            raise VersionNotAvailableError(
                f"cannot restore {self._uri} to version {target_version}: {len(gone)} of its data "
                "files are gone (vacuumed or deleted); restore an older checkpoint or re-sync"
            )
        if not (compare_content or same_files):
            return False
        if self._current.schema != self._target.schema:
            return False
        current, target = fingerprints([self._current, self._target])
        return current == target


def restore(
    spark: SparkSession,
    uri: str,
    version: int,
    commit_metadata: Mapping[str, str],
    *,
    compare_content: bool,
) -> RestoreResult:
    """Restore to `version`, or write nothing when the table already matches.

    The commit lock is held from the plan to the last commit, so restores in this process run
    one at a time; the metadata reaches each commit through the session's `userMetadata`
    setting. A restore that would clean up log entries the table keeps today is refused, and
    one that brings back a shorter retention is followed by a commit restating the current
    one (`log_keeping`).
    """
    target_version = checked_int(version, "version")
    with COMMIT_LOCK:
        detail = table_detail(spark, uri)
        table = delta_table(spark, uri, detail)
        before = latest_version(spark, uri, detail)
        plan = RestorePlan(spark, detail, table_frame(spark, uri, None, detail),
                           table_frame(spark, uri, target_version, detail))
        if plan.already_there(compare_content, fingerprints, target_version):
            return RestoreResult(before, before, noop=True, files_added=0, files_removed=0)
        with version_errors(uri, target_version):
            keeping = LogKeeping(uri, detail.properties, properties_at(spark, uri, target_version))
        keeping.refuse_if_log_shrinks(log_file_times(spark, uri), time.time(), target_version)
        with committing(spark, commit_metadata):
            with version_errors(uri, version):
                metrics = table.restoreToVersion(target_version).collect()[0].asDict()
            if keeping.restate:
                set_properties(spark, uri, keeping.restate)
        return RestoreResult(
            version_before=before,
            version_after=latest_version(spark, uri),
            noop=False,
            files_added=int(metrics.get("num_restored_files") or 0),
            files_removed=int(metrics.get("num_removed_files") or 0),
        )


def is_restorable(spark: SparkSession, uri: str, version: int, table_id: str) -> Restorability:
    """The log loads, every data file the version needs exists, and the id is `table_id`."""
    target = checked_int(version, "version")
    if not table_exists(spark, uri):
        return Restorability(False, f"there is no Delta table at {uri} any more")
    detail = table_detail(spark, uri)
    delta_table(spark, uri, detail)  # a table this engine cannot restore is refused here
    if detail.table_id != table_id:
        return Restorability(
            False, f"the table at {uri} was recreated: its id is no longer {table_id}"
        )
    try:
        frame = table_frame(spark, uri, target, detail)
    except VersionNotAvailableError as exc:
        return Restorability(False, f"version {target} cannot be restored: {exc}")
    missing = missing_files(spark, frame)
    if missing:
        return Restorability(
            False,
            f"{len(missing)} data file(s) of version {target} are gone (vacuumed or deleted)",
            missing_files=len(missing),
        )
    return Restorability(True)






def _candidates(spark: SparkSession, uri: str, hours: int) -> list[str]:
    """The files a vacuum with `hours` of retention would delete (a dry run)."""
    rows = spark.sql(vacuum_dry_run_sql(uri, hours)).collect()
    return sorted(str(row["path"]) for row in rows)


def vacuum(
    spark: SparkSession,
    uri: str,
    table: DeltaTable,
    retention_hours: int,
    *,
    dry_run: bool,
    kept_files: Sequence[DataFrame],
    properties: Mapping[str, str],
) -> VacuumResult:
    """Vacuum with at least seven days and at least the table's own retention.

    The dry run lists the candidates; a real run deletes with one extra hour of retention,
    so it removes a subset of that list, which has been checked against the kept versions.

    Raises:
        KeptFilesError: a kept version needs a file the vacuum would delete.
    """
    check_retention(retention_hours)
    own = file_retention_hours(properties)
    effective = max(retention_hours, int(own + 0.999) if own is not None else 0)
    candidates = _candidates(spark, uri, effective)
    needed = {path for frame in kept_files for path in frame.inputFiles()}
    clashes = sorted(set(candidates) & needed)
    if clashes:
        raise KeptFilesError(
            f"vacuum of {uri} would delete {len(clashes)} file(s) that kept versions need, and "
            "Spark's VACUUM cannot spare single files (capability vacuum_keep_versions=False); "
            "nothing was deleted. Use a longer retention or the delta-rs engine."
        )
    if not dry_run and candidates:
        table.vacuum(float(effective + SAFETY_MARGIN_HOURS))
        sizes = file_sizes(spark, candidates)
        candidates = [path for path in candidates if sizes[path] is None]
    files = tuple(sorted(relative_path(uri, path) for path in candidates))
    return VacuumResult(dry_run=dry_run, files=files, retention_hours=effective)


def optimize(spark: SparkSession, uri: str, zorder_columns: Sequence[str]) -> OptimizeResult:
    """Compact small files in one commit, z-ordering by the given columns if any."""
    columns = identifiers(zorder_columns)
    table = delta_table(spark, uri)
    with committing(spark):
        builder = table.optimize()
        result = builder.executeZOrderBy(*columns) if columns else builder.executeCompaction()
        metrics = result.select("metrics.numFilesAdded", "metrics.numFilesRemoved").collect()
    added = int(metrics[0]["numFilesAdded"] or 0) if metrics else 0
    removed = int(metrics[0]["numFilesRemoved"] or 0) if metrics else 0
    return OptimizeResult(
        version=latest_version(spark, uri), files_added=added, files_removed=removed
    )
