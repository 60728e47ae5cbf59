"""Reaching a Delta table and its versions through Spark, with Spark's errors in the seam's words.

Recovery asks for old versions that may be gone: log cleanup, a vacuum or the table's own
retention can each make one unreadable. A missing table is reported as `TableNotFoundError`
before any Spark job runs, and a version Spark cannot load, or whose files are gone, as
`VersionNotAvailableError` (`version_errors`), so callers never parse Spark's messages.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from recovery_platform.engine.errors import (
    ConcurrentCommitError,
    TableNotFoundError,
    VersionNotAvailableError,
)
from recovery_platform.engine.spark.sql import checked_int

if TYPE_CHECKING:
    from delta.tables import DeltaTable
    from pyspark.sql import DataFrame, SparkSession

__all__ = [
    "delta_table",
    "latest_version",
    "table_exists",
    "table_frame",
    "table_id_of",
    "table_properties",
    "version_errors",
]

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


def table_exists(spark: SparkSession, uri: str) -> bool:
    """Whether a Delta table lives at `uri`."""
    from delta.tables import DeltaTable

    return bool(DeltaTable.isDeltaTable(spark, uri))


def delta_table(spark: SparkSession, uri: str) -> DeltaTable:
    """The table at `uri` for the Delta Lake Python API.

    Raises:
        TableNotFoundError: no Delta table lives at `uri`.
    """
    from delta.tables import DeltaTable

    if not table_exists(spark, uri):
        raise TableNotFoundError(f"no Delta table at {uri}")
    return DeltaTable.forPath(spark, uri)


def table_frame(spark: SparkSession, uri: str, version: int | None = None) -> DataFrame:
    """The table's rows at a version, as a lazy DataFrame (nothing is read yet)."""
    if version is not None:
        version = checked_int(version, "version")
    if not table_exists(spark, uri):
        raise TableNotFoundError(f"no Delta table at {uri}")
    reader = spark.read.format("delta")
    if version is not None:
        reader = reader.option("versionAsOf", version)
    with version_errors(uri, version):
        frame = reader.load(uri)
        frame.schema  # noqa: B018 - resolving the schema loads the log at that version
    return frame


def latest_version(spark: SparkSession, uri: str) -> int:
    """The table's latest version, from its last commit."""
    return int(delta_table(spark, uri).history(1).select("version").collect()[0]["version"])


def table_id_of(table: DeltaTable) -> str:
    """The table id Delta gave the table at creation (a recreated table gets a new one)."""
    return str(table.detail().select("id").collect()[0]["id"])


def table_properties(table: DeltaTable) -> dict[str, str]:
    """The table's properties (`delta.*` and others)."""
    rows = table.detail().select("properties").collect()
    return {str(k): str(v) for k, v in (rows[0]["properties"] or {}).items()}
