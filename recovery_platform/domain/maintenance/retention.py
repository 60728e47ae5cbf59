"""The "retention" operation: expire checkpoints, then check each table keeps what the rest need.

Expiry itself is the checkpoints capability's (`checkpoints.expiry`): a checkpoint past its
RetentionDate is deactivated (soft delete, audited, a failure raises a Critical alert there).
What maintenance adds is the check that follows: every table's `delta.logRetentionDuration` and
`delta.deletedFileRetentionDuration` must still cover the longest remaining need of its active
checkpoints (a RESTORE brings back older, shorter properties; someone may have lowered them by
hand). A table below is audited and alerted, not silently fixed: raising its properties is a
commit, which the checkpoint that needs it should have made.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from recovery_platform.domain.checkpoints.expiry import expire_checkpoints
from recovery_platform.domain.checkpoints.retention import (
    covers,
    days_still_needed_by_table,
    required_changes,
)
from recovery_platform.domain.lakehouse.audit import AuditTrail
from recovery_platform.domain.lakehouse.location import Lakehouse
from recovery_platform.domain.lakehouse.metadata_store import MetadataStore
from recovery_platform.domain.lakehouse.vocabulary import AuditStatus, OperationType


@dataclass(frozen=True)
class RetentionShortfall:
    """A table whose retention properties are shorter than its active checkpoints need."""

    table: str
    needed_days: int
    current: dict[str, str]
    required: dict[str, str]

    @property
    def message(self) -> str:
        """The problem and the fix, in plain words."""
        return (f"table {self.table}: its retention properties {self.current} keep less than "
                f"the {self.needed_days} days its active checkpoints need; a vacuum or a log "
                f"cleanup may make them unrestorable. Set {self.required} on the table (or take "
                "a Manual checkpoint of it, which raises them).")


@dataclass(frozen=True)
class RetentionOutcome:
    """Checkpoints deactivated (dry run: would be), failed deactivations, tables below need."""

    deactivated: tuple[str, ...] = ()
    failures: tuple[str, ...] = ()
    below: tuple[RetentionShortfall, ...] = field(default_factory=tuple)


def expire(store: MetadataStore, audit: AuditTrail, *, today: date, dry_run: bool
           ) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The one call to checkpoint expiry: (deactivated checkpoint ids, failures)."""
    outcome = expire_checkpoints(store, audit, today=today, dry_run=dry_run)
    return tuple(outcome.deactivated), tuple(outcome.failures)


def check_table_retention(
    lakehouse: Lakehouse,
    store: MetadataStore,
    audit: AuditTrail,
    tables: Sequence[str],
    *,
    today: date,
) -> tuple[RetentionShortfall, ...]:
    """Tables whose retention properties do not cover their active checkpoints, audited.

    Each table below gets a Warning `CheckpointRetentionEnforcement` row and a Warning alert;
    a table that covers its needs writes nothing. Reads only.
    """
    needed = days_still_needed_by_table(store, tables, today)
    found = []
    for table in tables:
        if needed[table] <= 0:
            continue
        properties = lakehouse.engine.get_properties(lakehouse.bronze_uri(table))
        if covers(properties, needed[table]):
            continue
        required = required_changes(properties, needed[table])
        current = {k: properties.get(k, "default") for k in required}
        found.append(RetentionShortfall(table, needed[table], current, required))
    for shortfall in found:
        with audit.step(OperationType.CheckpointRetentionEnforcement, shortfall.table) as step:
            step.status, step.error = AuditStatus.Warning, shortfall.message
            step.details = {"needed_days": shortfall.needed_days, "current": shortfall.current,
                            "required": shortfall.required}
        audit.alert("RetentionBelowCheckpoints", shortfall.message,
                    table=shortfall.table)
    return tuple(found)


def enforce_retention(
    lakehouse: Lakehouse,
    store: MetadataStore,
    audit: AuditTrail,
    tables: Sequence[str],
    *,
    today: date,
    dry_run: bool,
) -> RetentionOutcome:
    """Expire checkpoints (a dry run only lists them), then check the tables' retention."""
    deactivated, failures = expire(store, audit, today=today, dry_run=dry_run)
    below = check_table_retention(lakehouse, store, audit, tables, today=today)
    return RetentionOutcome(deactivated=deactivated, failures=failures, below=below)
