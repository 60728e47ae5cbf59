"""Restore, vacuum and file checks on Spark, with Spark errors in the seam's own words.

Recovery depends on old versions' data files, so these are the operations where a mistake
destroys history: a restore must not commit when nothing changes, and must not start when the
target's files are gone; a vacuum never goes below seven days nor below the table's own
retention, and never deletes a file that a version the caller keeps still needs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from recovery_platform.engine.errors import (
    ConcurrentCommitError,
    KeptFilesError,
    TableNotFoundError,
    VersionNotAvailableError,
)
from recovery_platform.engine.spark.files import file_sizes, relative_path
from recovery_platform.engine.spark.sql import vacuum_dry_run_sql
from recovery_platform.engine.values import StorageDelta, VacuumResult

if TYPE_CHECKING:
    from delta.tables import DeltaTable
    from pyspark.sql import DataFrame, SparkSession

__all__ = [
    "MIN_RETENTION_HOURS",
    "RestorePlan",
    "check_retention",
    "missing_files",
    "storage_delta",
    "vacuum",
    "version_errors",
]

MIN_RETENTION_HOURS = 168
"""Seven days: below this a vacuum can delete files a concurrent reader or a checkpoint needs."""

SAFETY_MARGIN_HOURS = 1
"""The real vacuum keeps one hour more than its dry run, so it deletes a subset of that list."""

_INTERVAL = re.compile(r"^\s*(?:interval\s+)?(\d+)\s+(\w+?)s?\s*$", re.IGNORECASE)
_HOURS_PER_UNIT = {"hour": 1.0, "day": 24.0, "week": 168.0, "minute": 1 / 60, "second": 1 / 3600}
_GONE = ("FILE_NOT_EXIST", "FILE_NOT_FOUND", "FileNotFoundException", "PATH_NOT_FOUND")


def _condition(exc: BaseException) -> str:
    getter = getattr(exc, "getCondition", None) or getattr(exc, "getErrorClass", None)
    try:
        return str(getter() or "") if getter else ""
    except Exception:
        return ""


@contextmanager
def version_errors(uri: str, version: int | None) -> Iterator[None]:
    """Translate Spark's errors about tables, versions and files into the seam's errors."""
    from delta.exceptions import DeltaConcurrentModificationException
    from pyspark.errors import PySparkException

    try:
        yield
    except DeltaConcurrentModificationException as exc:
        raise ConcurrentCommitError(f"{uri} changed during the operation; re-plan") from exc
    except PySparkException as exc:
        condition, text = _condition(exc), str(exc)
        if condition == "DELTA_MISSING_DELTA_TABLE":
            raise TableNotFoundError(f"no Delta table at {uri}") from exc
        if condition == "DELTA_VERSION_NOT_FOUND":
            raise VersionNotAvailableError(
                f"version {version} of {uri} does not exist or its log was cleaned up"
            ) from exc
        if "BEYOND_DELETED_FILE_RETENTION" in condition:
            raise VersionNotAvailableError(
                f"version {version} of {uri} is older than the table's "
                "delta.deletedFileRetentionDuration, and Spark refuses to time-travel beyond it"
            ) from exc
        if any(marker in condition or marker in text for marker in _GONE):
            raise VersionNotAvailableError(
                f"data files of version {version} of {uri} are gone (vacuumed or deleted)"
            ) from exc
        if condition.startswith("DELTA_CONCURRENT"):
            raise ConcurrentCommitError(f"{uri} changed during the operation; re-plan") from exc
        raise


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

    def __init__(self, spark: SparkSession, uri: str, current: DataFrame, target: DataFrame):
        self._spark, self._uri = spark, uri
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
        if same_files and not self._uses_deletion_vectors():
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

    def _uses_deletion_vectors(self) -> bool:
        from delta.tables import DeltaTable

        detail = DeltaTable.forPath(self._spark, self._uri).detail()
        features = detail.select("tableFeatures").collect()[0]["tableFeatures"] or []
        return "deletionVectors" in features


def check_retention(retention_hours: int) -> None:
    """Refuse a retention below seven days before any table is touched.

    Raises:
        ValueError: `retention_hours` is not an int or is below 168 hours.
    """
    if isinstance(retention_hours, bool) or not isinstance(retention_hours, int):
        raise ValueError(f"retention_hours must be an int, got {retention_hours!r}")
    if retention_hours < MIN_RETENTION_HOURS:
        raise ValueError(
            f"retention_hours={retention_hours} is below the minimum of {MIN_RETENTION_HOURS} "
            "hours (7 days); a shorter retention can destroy files that recovery needs"
        )


def table_retention_hours(properties: Mapping[str, str]) -> float | None:
    """The table's own `delta.deletedFileRetentionDuration` in hours, if set and readable."""
    match = _INTERVAL.match(properties.get("delta.deletedFileRetentionDuration") or "")
    if match is None or match.group(2).lower() not in _HOURS_PER_UNIT:
        return None
    return int(match.group(1)) * _HOURS_PER_UNIT[match.group(2).lower()]


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
    own = table_retention_hours(properties)
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
