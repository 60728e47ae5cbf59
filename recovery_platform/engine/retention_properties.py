"""Delta's retention table properties, read the same way by both engines.

Recovery lives on old versions, and four table properties decide how long Delta keeps them:
how long log entries and removed data files survive, whether commits clean up the log at all,
and how often a commit writes the log checkpoint that triggers that cleanup. Both engines
read them here, so a vacuum, a restore and the retention rule agree on what a value means.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

__all__ = [
    "CHECKPOINT_INTERVAL",
    "DEFAULT_CHECKPOINT_INTERVAL",
    "DEFAULT_FILE_RETENTION_HOURS",
    "DEFAULT_LOG_RETENTION_HOURS",
    "EXPIRED_LOG_CLEANUP",
    "FILE_RETENTION",
    "LOG_RETENTION",
    "MIN_RETENTION_HOURS",
    "check_retention",
    "checkpoint_interval",
    "file_retention_hours",
    "interval_hours",
    "log_kept_hours",
]

LOG_RETENTION = "delta.logRetentionDuration"
FILE_RETENTION = "delta.deletedFileRetentionDuration"
EXPIRED_LOG_CLEANUP = "delta.enableExpiredLogCleanup"
CHECKPOINT_INTERVAL = "delta.checkpointInterval"

DEFAULT_LOG_RETENTION_HOURS = 30 * 24.0
DEFAULT_FILE_RETENTION_HOURS = 7 * 24.0
DEFAULT_CHECKPOINT_INTERVAL = 10
"""Delta Lake's values when a table does not set the property."""

MIN_RETENTION_HOURS = 168
"""Seven days: below this a vacuum can delete files a concurrent reader or a checkpoint needs."""

_HOURS_PER_UNIT = {
    "microsecond": 1 / 3_600_000_000,
    "millisecond": 1 / 3_600_000,
    "second": 1 / 3600,
    "minute": 1 / 60,
    "hour": 1.0,
    "day": 24.0,
    "week": 168.0,
}
_INTERVAL = re.compile(r"^\s*(?:interval\s+)?((?:\d+\s+[a-z]+\s*)+)$", re.IGNORECASE)
_PART = re.compile(r"(\d+)\s+([a-z]+?)s?(?=\s|$)", re.IGNORECASE)


def interval_hours(text: str | None) -> float | None:
    """Hours in a Delta interval ('interval 30 days', '1 week 2 days'); None if unreadable."""
    match = _INTERVAL.match(text or "")
    parts = _PART.findall(match.group(1)) if match else []
    if not parts or any(unit.lower() not in _HOURS_PER_UNIT for _, unit in parts):
        return None
    return sum(int(count) * _HOURS_PER_UNIT[unit.lower()] for count, unit in parts)


def file_retention_hours(properties: Mapping[str, str]) -> float | None:
    """The table's own `delta.deletedFileRetentionDuration` in hours, if set and readable."""
    return interval_hours(properties.get(FILE_RETENTION))


def log_kept_hours(properties: Mapping[str, str]) -> float:
    """How long a log cleanup keeps log entries: forever when the table turned cleanup off."""
    if str(properties.get(EXPIRED_LOG_CLEANUP, "true")).strip().lower() == "false":
        return math.inf
    hours = interval_hours(properties.get(LOG_RETENTION))
    return DEFAULT_LOG_RETENTION_HOURS if hours is None else hours


def checkpoint_interval(properties: Mapping[str, str]) -> int:
    """Every how many commits a writer writes a log checkpoint (and may clean up the log)."""
    text = str(properties.get(CHECKPOINT_INTERVAL, "")).strip()
    return int(text) if text.isdigit() and int(text) > 0 else DEFAULT_CHECKPOINT_INTERVAL


def check_retention(retention_hours: int) -> None:
    """Refuse a vacuum retention below seven days before any table is touched.

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
