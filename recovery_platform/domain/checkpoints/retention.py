"""The retention rule: a checkpoint kept R days needs its table's history kept R days too.

One rule for both engines. A checkpoint with retention R requires `delta.logRetentionDuration` and
`delta.deletedFileRetentionDuration` of every pinned table to be at least R days (Spark 4.1+
refuses time travel beyond the latter). Creating the checkpoint raises them as needed and audits
it: the platform never silently creates a checkpoint that could not be restored when needed.

Once checkpoints expire, the same rule says how far the properties may come down again
(`retention_report`, `lower_retention`): to what the remaining active checkpoints need, never
below a floor (`retention_floors`), so storage is reclaimed once nothing needs it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from recovery_platform.domain.lakehouse.audit import AuditTrail
from recovery_platform.domain.lakehouse.location import Lakehouse
from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable
from recovery_platform.domain.lakehouse.metadata_store import MetadataStore
from recovery_platform.domain.lakehouse.table_config import TableSpec
from recovery_platform.domain.lakehouse.vocabulary import OperationType
from recovery_platform.engine.retention_properties import (
    FILE_RETENTION,
    LOG_RETENTION,
    interval_hours,
)

DELTA_DEFAULTS_DAYS = {LOG_RETENTION: 30.0, FILE_RETENTION: 7.0}
"""Delta Lake's defaults when a table does not set the property."""



def interval_days(value: str) -> float:
    """Days in a Delta interval such as 'interval 30 days', '1 week' or 'interval 1 week 2 days'.

    Delta (Spark's interval syntax) accepts several units in one value; months and years are
    refused, as Delta refuses them for retention durations.
    """
    hours = interval_hours(value)
    if hours is None:
        raise ValueError(f"unrecognised Delta interval {value!r}")
    return hours / 24


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


LOG_FLOOR_DAYS = 30
"""Log retention is never lowered below Delta's default: nothing configures a shorter one."""


def retention_floors(spec: TableSpec) -> dict[str, int]:
    """The least each retention property may be lowered to, in days, for one table.

    Log entries: Delta's default, 30 days. Removed data files: the table's configured
    `vacuum_retention_hours` (at least 168 h, enforced when the configuration loads), since a
    vacuum keeps max(configured hours, the property) anyway and the platform never lets files
    go younger than that.
    """
    return {LOG_RETENTION: LOG_FLOOR_DAYS,
            FILE_RETENTION: max(7, math.ceil(spec.vacuum_retention_hours / 24))}


@dataclass(frozen=True)
class TableRetention:
    """A table's retention properties against what its active checkpoints still need."""

    table: str
    needed_days: int
    """Days of history the longest-lived active checkpoint of the table still needs."""
    log_days: float
    file_days: float
    floors: Mapping[str, int]

    @property
    def below_needed(self) -> bool:
        """Some pinned version may lose its log entries or files before its checkpoint expires."""
        return min(self.log_days, self.file_days) < self.needed_days

    @property
    def lowest(self) -> dict[str, int]:
        """The value each property may be lowered to: what is needed, never below its floor."""
        return {key: max(floor, self.needed_days) for key, floor in self.floors.items()}

    @property
    def lowerable(self) -> dict[str, int]:
        """Properties above their lowest value, with that value: storage to reclaim."""
        current = {LOG_RETENTION: self.log_days, FILE_RETENTION: self.file_days}
        return {key: days for key, days in self.lowest.items() if current[key] > days}


def current_days(properties: Mapping[str, str]) -> dict[str, float]:
    """Both retention properties in days, Delta's defaults where unset."""
    return {key: interval_days(properties[key]) if key in properties else default
            for key, default in DELTA_DEFAULTS_DAYS.items()}


def table_retention(
    table: str, properties: Mapping[str, str], needed_days: int, floors: Mapping[str, int]
) -> TableRetention:
    """The retention facts of one table from its properties (pure)."""
    days = current_days(properties)
    return TableRetention(table=table, needed_days=needed_days, log_days=days[LOG_RETENTION],
                          file_days=days[FILE_RETENTION], floors=dict(floors))


def retention_report(
    lakehouse: Lakehouse, store: MetadataStore, tables: Sequence[str], today: date
) -> list[TableRetention]:
    """For each table: what its active checkpoints need, what it keeps, what it could lower to.

    Raises:
        ValueError: a table's retention property is not a Delta interval this module reads.
    """
    needed = days_still_needed_by_table(store, tables, today)
    return [
        table_retention(table, lakehouse.engine.get_properties(lakehouse.bronze_uri(table)),
                        needed[table], retention_floors(lakehouse.config.table(table)))
        for table in tables
    ]


def lower_retention(
    lakehouse: Lakehouse, table: str, days: int, audit: AuditTrail
) -> RetentionAdjustment | None:
    """Lower both retention properties to max(floor, `days`) where they are above it.

    `days` must be what the table's active checkpoints still need
    (`TableRetention.needed_days`): a shorter value would let a pinned version's history go.
    The caller holds the table's lease (this is a commit to the table). Audited as
    TableRetentionAdjusted, like `ensure_retention`; None when nothing is above.
    """
    uri = lakehouse.bronze_uri(table)
    properties = lakehouse.engine.get_properties(uri)
    facts = table_retention(table, properties, days,
                            retention_floors(lakehouse.config.table(table)))
    changes = {key: f"interval {target} days" for key, target in facts.lowerable.items()}
    if not changes:
        return None
    before = {key: properties[key] for key in changes}
    with audit.step(OperationType.TableRetentionAdjusted, table) as step:
        step.delta_version = lakehouse.engine.set_properties(uri, changes)
        step.details = {"before": before, "after": changes, "required_days": days,
                        "lowered": True, "floors": facts.floors}
    return RetentionAdjustment(table=table, before=before, after=changes)
