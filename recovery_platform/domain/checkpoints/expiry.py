"""Retention enforcement: a checkpoint past its RetentionDate stops being a restore point.

Expiry is a soft delete: `IsActive` becomes false and `DeactivatedAt` records when; the rows
(and their pins) are never deleted, so history and audits can still name the checkpoint.

Expiry goes strictly by `RetentionDate`, for every checkpoint type. The seed's exceptions are
decided by how that date is set when the checkpoint is taken (`history.stage_checkpoint`), not by
special cases here:
- PrePurge checkpoints expire only after their own RetentionDate (365 days by default), however
  many later daily checkpoints have expired around them.
- Manual checkpoints expire only after their RetentionDate; a long-term Manual checkpoint
  (`LongTerm`, retention kind `ManualLongTerm`) carries its long date and keeps it.
- "Never deactivate within the time-travel window" holds by construction: the retention rule
  (`retention`) keeps each table's Delta retention at least as long as every active
  checkpoint's, so a checkpoint's RetentionDate never falls inside a window its table still
  keeps for it.

A dry run computes the same list and writes only its audit rows. Deactivation is one metadata
commit for all expired checkpoints; if that commit fails, each checkpoint is tried alone so one
bad row cannot keep the others active, and each one that still fails raises a Critical alert
(an expired checkpoint left active would be offered as a target the planner must refuse).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from recovery_platform.domain.lakehouse.audit import AuditStep, AuditTrail, utc_now
from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable
from recovery_platform.domain.lakehouse.metadata_store import MetadataStore
from recovery_platform.domain.lakehouse.vocabulary import AuditStatus, OperationType

DEACTIVATION_FAILED = "CheckpointDeactivationFailed"


@dataclass(frozen=True)
class ExpiryOutcome:
    """What retention enforcement did (or, in a dry run, would do).

    `deactivated` and `names` list the same checkpoints in the same order (oldest first);
    `failures` says, per checkpoint that could not be deactivated, its name, id and the error.
    """

    deactivated: tuple[str, ...]
    names: tuple[str, ...]
    failures: tuple[str, ...]


def expired_rows(rows: Sequence[Mapping[str, Any]], today: date) -> list[Mapping[str, Any]]:
    """Active `CheckpointHistory` rows whose RetentionDate is before `today`, oldest first."""
    found = [r for r in rows if r["IsActive"] and r["RetentionDate"] < today]
    return sorted(found, key=lambda r: (r["CreatedDate"], str(r["CheckpointId"])))


def expire_checkpoints(
    store: MetadataStore, audit: AuditTrail, *, today: date, dry_run: bool
) -> ExpiryOutcome:
    """Deactivate every active checkpoint whose RetentionDate is before `today` (UTC date).

    Audits one CheckpointRetentionEnforcement step per checkpoint (CheckpointId set); the
    caller flushes the audit trail. A failed deactivation is listed in `failures` and raises
    a Critical `CheckpointDeactivationFailed` alert; it never raises.
    """
    rows = expired_rows(store.rows(MetadataTable.CheckpointHistory, equals={"IsActive": True}),
                        today)
    started, clock = utc_now(), time.perf_counter()
    errors = {} if dry_run or not rows else _deactivate(store, rows, started)
    seconds = time.perf_counter() - clock
    done, failures = [], []
    for row in rows:
        checkpoint_id = str(row["CheckpointId"])
        error = errors.get(checkpoint_id)
        audit.record(_step(row, today, dry_run, error), started=started, seconds=seconds)
        if error is None:
            done.append(row)
            continue
        failure = f"checkpoint {row['CheckpointName']} ({checkpoint_id}): {error}"
        failures.append(failure)
        audit.alert(
            DEACTIVATION_FAILED,
            f"Expired {failure}. It stays active although its RetentionDate "
            f"{row['RetentionDate']} has passed (the rollback planner refuses it anyway). "
            "Recommended action: check the CheckpointHistory metadata table, then run "
            "maintenance again with the retention operation.",
            table=row["TableName"], details={"checkpoint_id": checkpoint_id, "error": error},
        )
    return ExpiryOutcome(
        deactivated=tuple(str(r["CheckpointId"]) for r in done),
        names=tuple(str(r["CheckpointName"]) for r in done),
        failures=tuple(failures),
    )


def _deactivate(
    store: MetadataStore, rows: Sequence[Mapping[str, Any]], now: datetime
) -> dict[str, str]:
    """Set IsActive false and DeactivatedAt in one commit, else one by one; errors by id."""
    changes = [{"CheckpointId": r["CheckpointId"], "IsActive": False, "DeactivatedAt": now}
               for r in rows]
    try:
        store.upsert(MetadataTable.CheckpointHistory, changes, key="CheckpointId")
    except Exception:  # find which checkpoints the commit cannot take; the others still go
        return _deactivate_each(store, changes)
    return {}


def _deactivate_each(store: MetadataStore, changes: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """One commit per checkpoint; the error of each one that fails, by checkpoint id."""
    errors: dict[str, str] = {}
    for change in changes:
        try:
            store.upsert(MetadataTable.CheckpointHistory, [change], key="CheckpointId")
        except Exception as exc:
            errors[str(change["CheckpointId"])] = f"{type(exc).__name__}: {exc}"
    return errors


def _step(row: Mapping[str, Any], today: date, dry_run: bool, error: str | None) -> AuditStep:
    """The audit step of one checkpoint's expiry."""
    action = "would deactivate" if dry_run else "deactivated" if error is None else "failed"
    return AuditStep(
        operation=OperationType.CheckpointRetentionEnforcement,
        table=row["TableName"],
        status=AuditStatus.Succeeded if error is None else AuditStatus.Failed,
        checkpoint_id=str(row["CheckpointId"]),
        error=error,
        details={
            "action": action,
            "name": row["CheckpointName"],
            "type": row["CheckpointType"],
            "retention_date": row["RetentionDate"],
            "long_term": bool(row.get("LongTerm")),
            "today": today,
            "dry_run": dry_run,
        },
    )
