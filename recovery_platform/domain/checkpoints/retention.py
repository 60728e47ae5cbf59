"""The retention rule: a checkpoint kept R days needs its table's history kept R days too.

One rule for both engines. A checkpoint with retention R requires `delta.logRetentionDuration` and
`delta.deletedFileRetentionDuration` of every pinned table to be at least R days (Spark 4.1+
refuses time travel beyond the latter). Creating the checkpoint raises them as needed and audits
it: the platform never silently creates a checkpoint that could not be restored when needed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from recovery_platform.domain.lakehouse.audit import AuditTrail
from recovery_platform.domain.lakehouse.location import Lakehouse
from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable
from recovery_platform.domain.lakehouse.metadata_store import MetadataStore
from recovery_platform.domain.lakehouse.vocabulary import OperationType

LOG_RETENTION = "delta.logRetentionDuration"
FILE_RETENTION = "delta.deletedFileRetentionDuration"
DELTA_DEFAULTS_DAYS = {LOG_RETENTION: 30.0, FILE_RETENTION: 7.0}
"""Delta Lake's defaults when a table does not set the property."""

_UNIT_DAYS = {
    "microsecond": 1 / 86_400_000_000,
    "millisecond": 1 / 86_400_000,
    "second": 1 / 86_400,
    "minute": 1 / 1_440,
    "hour": 1 / 24,
    "day": 1.0,
    "week": 7.0,
}
_INTERVAL = re.compile(r"^\s*(?:interval\s+)?((?:\d+\s+[a-z]+\s*)+)$", re.IGNORECASE)
_PART = re.compile(r"(\d+)\s+([a-z]+?)s?(?=\s|$)", re.IGNORECASE)


def interval_days(value: str) -> float:
    """Days in a Delta interval such as 'interval 30 days', '1 week' or 'interval 1 week 2 days'.

    Delta (Spark's interval syntax) accepts several units in one value; months and years are
    refused, as Delta refuses them for retention durations.
    """
    match = _INTERVAL.match(value)
    parts = _PART.findall(match.group(1)) if match else []
    if not parts or any(unit.lower() not in _UNIT_DAYS for _, unit in parts):
        raise ValueError(f"unrecognised Delta interval {value!r}")
    return sum(int(count) * _UNIT_DAYS[unit.lower()] for count, unit in parts)


@dataclass(frozen=True)
class RetentionAdjustment:
    """Properties raised on one table so that a checkpoint stays restorable."""

    table: str
    before: dict[str, str]
    after: dict[str, str]


def required_changes(properties: dict[str, str], days: int) -> dict[str, str]:
    """Properties to set so both retention durations cover `days`; empty if they already do."""
    changes: dict[str, str] = {}
    for key, default in DELTA_DEFAULTS_DAYS.items():
        current = interval_days(properties[key]) if key in properties else default
        if current < days:
            changes[key] = f"interval {int(days)} days"
    return changes


def ensure_retention(
    lakehouse: Lakehouse, table: str, days: int, audit: AuditTrail
) -> RetentionAdjustment | None:
    """Raise a table's retention properties to cover `days`, auditing TableRetentionAdjusted."""
    uri = lakehouse.bronze_uri(table)
    properties = lakehouse.engine.get_properties(uri)
    changes = required_changes(properties, days)
    if not changes:
        return None
    before = {k: properties.get(k, f"default ({DELTA_DEFAULTS_DAYS[k]:g} days)") for k in changes}
    with audit.step(OperationType.TableRetentionAdjusted, table) as step:
        step.delta_version = lakehouse.engine.set_properties(uri, changes)
        step.details = {"before": before, "after": changes, "required_days": days}
    return RetentionAdjustment(table=table, before=before, after=changes)


def days_to_keep(commit_timestamp: datetime, retention_date: date) -> int:
    """Days of history that keep a commit restorable until `retention_date`.

    Delta deletes log entries (and Spark refuses time travel) by their age, not by when they
    were pinned: a version committed 60 days before it is pinned for 30 days needs 90 days of
    retention, or the next commit's log cleanup removes it at once.
    """
    return max(0, (retention_date - commit_timestamp.date()).days)


def covers(properties: dict[str, str], days: int) -> bool:
    """Whether the table's retention properties keep `days` of restorable history."""
    return not required_changes(properties, days)


def days_still_needed(store: MetadataStore, table: str, today: date) -> int:
    """Days of history the table must keep for every active checkpoint that pins it.

    Counted from each pinned version's commit to its checkpoint's retention date
    (`days_to_keep`). A RESTORE brings back the target version's table properties, which may
    be shorter than what later checkpoints secured; this says how far to raise them again.
    """
    return days_still_needed_by_table(store, [table], today)[table]


def days_still_needed_by_table(
    store: MetadataStore, tables: Sequence[str], today: date
) -> dict[str, int]:
    """`days_still_needed` for many tables from one read of each checkpoint table."""
    wanted = set(tables)
    active = {
        r["CheckpointId"]: r["RetentionDate"]
        for r in store.rows(MetadataTable.CheckpointHistory, equals={"IsActive": True})
        if r["RetentionDate"] >= today
    }
    needed = dict.fromkeys(tables, 0)
    for row in store.rows(MetadataTable.CheckpointTables):
        retention_date = active.get(row["CheckpointId"])
        if row["TableName"] in wanted and retention_date is not None:
            days = days_to_keep(row["CommitTimestamp"], retention_date)
            needed[row["TableName"]] = max(needed[row["TableName"]], days)
    return needed
