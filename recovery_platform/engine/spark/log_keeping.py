"""A Spark RESTORE keeps the log that checkpoints pin.

Delta Spark's RESTORE commits the target version's table properties: a table whose retention
the platform raised for its checkpoints gets back the shorter retention it had then. And a
RESTORE always writes a log checkpoint and cleans up the log right after its commit
(delta-io/delta: `commitLarge` -> `updateAndCheckpoint` -> `checkpointAndCleanUpDeltaLog`),
deleting log entries older than the retention of the table *after* the commit
(`MetadataCleanup.doLogCleanup` reads the post-commit metadata). No setting turns that off for
one commit, so the restore's own commit would delete the entries of versions checkpoints pin.
delta-rs never cleans up on commit.

So a restore whose target keeps less history is refused when the log holds entries the shorter
retention would delete and the current one keeps (nothing is written); otherwise it runs, and
right after it the current retention properties are set again: retention is the platform's
promise to its checkpoints, not table content, so a restore does not take it back.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING

from recovery_platform.engine.errors import CommitRefusedError
from recovery_platform.engine.retention_properties import (
    DEFAULT_FILE_RETENTION_HOURS,
    DEFAULT_LOG_RETENTION_HOURS,
    EXPIRED_LOG_CLEANUP,
    FILE_RETENTION,
    LOG_RETENTION,
    file_retention_hours,
    interval_hours,
    log_kept_hours,
)
from recovery_platform.engine.spark.sql import checked_int, table_location

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = ["LogKeeping", "properties_at"]


def properties_at(spark: SparkSession, uri: str, version: int) -> dict[str, str]:
    """The table's properties as of `version` (Delta's `path@vN` time travel, plain SQL).

    Plain SQL works on a classic session and through Spark Connect alike.
    """
    target = checked_int(version, "version")
    rows = spark.sql(f"SHOW TBLPROPERTIES delta.`{table_location(uri)}@v{target}`").collect()
    return {str(row["key"]): str(row["value"]) for row in rows}


def _cleanup_off(properties: Mapping[str, str]) -> bool:
    return str(properties.get(EXPIRED_LOG_CLEANUP, "true")).strip().lower() == "false"


def weakened(current: Mapping[str, str], target: Mapping[str, str]) -> dict[str, str]:
    """The current retention properties that restoring `target`'s would weaken, at their values."""
    keep: dict[str, str] = {}
    log_now = interval_hours(current.get(LOG_RETENTION)) or DEFAULT_LOG_RETENTION_HOURS
    log_then = interval_hours(target.get(LOG_RETENTION)) or DEFAULT_LOG_RETENTION_HOURS
    if log_then < log_now:
        keep[LOG_RETENTION] = current.get(LOG_RETENTION, "interval 30 days")
    if _cleanup_off(current) and not _cleanup_off(target):
        keep[EXPIRED_LOG_CLEANUP] = "false"
    files_now = file_retention_hours(current) or DEFAULT_FILE_RETENTION_HOURS
    files_then = file_retention_hours(target) or DEFAULT_FILE_RETENTION_HOURS
    if files_then < files_now:
        keep[FILE_RETENTION] = current.get(FILE_RETENTION, "interval 7 days")
    return keep


class LogKeeping:
    """What a restore from `current` properties to `target` ones must do to keep the log."""

    def __init__(self, uri: str, current: Mapping[str, str], target: Mapping[str, str]) -> None:
        self.uri = uri
        self.restate = weakened(current, target)
        self._kept_now = log_kept_hours(current)
        self._kept_then = log_kept_hours(target)

    def doomed_versions(self, log_times: Mapping[str, float], now: float) -> list[int]:
        """Versions whose commits the restore's cleanup would delete and today's log keeps.

        Delta deletes by file time; its cut-off is rounded down to the day, so this errs on
        the side of refusing.
        """
        if self._kept_then >= self._kept_now:
            return []
        cut_then = now - self._kept_then * 3600
        cut_now = now - self._kept_now * 3600 if math.isfinite(self._kept_now) else -math.inf
        versions = []
        for name, mtime in log_times.items():
            stem, dot, suffix = name.partition(".")
            if dot and suffix == "json" and stem.isdigit() and cut_now <= mtime < cut_then:
                versions.append(int(stem))
        return sorted(versions)

    def refuse_if_log_shrinks(self, log_times: Mapping[str, float], now: float,
                              target_version: int) -> None:
        """Refuse the restore when its cleanup would delete log entries the table keeps today.

        Raises:
            CommitRefusedError: naming the versions and both retentions; nothing was written.
        """
        doomed = self.doomed_versions(log_times, now)
        if not doomed:
            return
        raise CommitRefusedError(
            f"restoring {self.uri} to version {target_version} on Spark would delete the log "
            f"entries of versions {doomed[0]}-{doomed[-1]}: Delta Spark's RESTORE brings back "
            f"that version's log retention ({_days(self._kept_then)}; the table keeps "
            f"{_days(self._kept_now)} today, for its checkpoints) and cleans up the log in the "
            "same commit. Nothing was written. Restore with the delta-rs engine, which keeps "
            "the log, or restore a checkpoint taken after the table's retention was raised"
        )


def _days(hours: float) -> str:
    return "no cleanup" if math.isinf(hours) else f"{hours / 24:g} days"
