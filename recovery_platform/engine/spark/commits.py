"""Our commit metadata on Spark: written into each commit, and read back from the history.

A rollback recognises its own RESTORE commits by the operation id in their metadata, whichever
engine wrote them. On Spark our mapping travels as one JSON object in Delta's standard
`userMetadata` field: as a writer option where Spark has one, otherwise through the session
setting around the call. That setting is session-wide, so every commit holds one process-wide
lock (`COMMIT_LOCK`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from recovery_platform.engine.errors import VersionNotAvailableError
from recovery_platform.engine.spark.frames import column
from recovery_platform.engine.spark.sql import checked_int
from recovery_platform.engine.spark.tables import delta_table, table_detail
from recovery_platform.engine.values import NO_DATA_CHANGE_OPERATIONS, CommitInfo, TableState

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = [
    "COMMIT_LOCK",
    "USER_METADATA_CONF",
    "commit_history",
    "committing",
    "encode_metadata",
    "table_state",
]

USER_METADATA_CONF = "spark.databricks.delta.commitInfo.userMetadata"
"""Session setting Delta copies into `userMetadata` of every commit made while it is set."""

COMMIT_LOCK = threading.RLock()


def encode_metadata(commit_metadata: Mapping[str, str] | None) -> str | None:
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


@contextmanager
def committing(
    spark: SparkSession, commit_metadata: Mapping[str, str] | None = None
) -> Iterator[None]:
    """Hold the commit lock with the session's `userMetadata` set to ours (or unset)."""
    with COMMIT_LOCK:
        encoded = encode_metadata(commit_metadata)
        if encoded is None:
            spark.conf.unset(USER_METADATA_CONF)
        else:
            spark.conf.set(USER_METADATA_CONF, encoded)
        try:
            yield
        finally:
            spark.conf.unset(USER_METADATA_CONF)


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


def _history_rows(source: Any, limit: int | None) -> list[dict[str, Any]]:
    """History rows (newest first) as plain dicts with timezone-aware timestamps.

    `source` is a DeltaTable or an already filtered history DataFrame. Arrow keeps the UTC
    timestamps aware, where `collect()` would give naive local times.
    """
    frame = source if hasattr(source, "toArrow") else source.history(limit)
    wanted = ["version", "timestamp", "operation", "operationParameters", "userMetadata"]
    rows = frame.select(*wanted).orderBy(column("version").desc()).toArrow().to_pylist()
    return rows


def table_state(spark: SparkSession, uri: str, version: int | None) -> TableState:
    """Version, commit timestamp and table id (`version=None` for the latest).

    Raises:
        VersionNotAvailableError: the version has no commit in the log.
    """
    detail = table_detail(spark, uri)
    table = delta_table(spark, uri, detail)
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
    return TableState(
        version=commits[0].version, timestamp=commits[0].timestamp, table_id=detail.table_id
    )


def commit_history(spark: SparkSession, uri: str, limit: int | None) -> list[CommitInfo]:
    """Commits, newest first, with our metadata decoded from `userMetadata`."""
    if limit is not None:
        limit = checked_int(limit, "limit")
    return [_commit_info(row) for row in _history_rows(delta_table(spark, uri), limit)]
