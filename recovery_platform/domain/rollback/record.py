"""A recorded rollback plan as apply reads it back, and the checks an apply must pass first."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from recovery_platform.domain.lakehouse.audit import utc_now
from recovery_platform.domain.lakehouse.errors import InvalidInputError
from recovery_platform.domain.lakehouse.lease import LeaseStore
from recovery_platform.domain.lakehouse.location import Lakehouse
from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable
from recovery_platform.domain.lakehouse.metadata_store import MetadataStore
from recovery_platform.engine import COMMIT_METADATA_PREFIX, CommitInfo

OPERATION_ID_KEY = f"{COMMIT_METADATA_PREFIX}operation_id"


class PlanRefusedError(RuntimeError):
    """The recorded plan cannot be applied as asked; nothing was changed."""


def operation_id(plan_id: str, table: str) -> str:
    """The id carried by a plan's RESTORE commit of one table."""
    return f"{plan_id}:{table}"


@dataclass(frozen=True)
class PlannedTable:
    """One table's line in a recorded plan, with its intent status."""

    table: str
    current_version: int
    target_version: int
    intent: str
    restore_version: int | None
    rows_changed: int | None = None

    @property
    def unchanged(self) -> bool:
        """The plan found the content already equal to the target."""
        return self.rows_changed == 0


@dataclass(frozen=True)
class RecordedPlan:
    """A plan as stored in `RollbackPlans` and `RollbackPlanTables`."""

    plan_id: str
    created_at: datetime
    expires_at: datetime
    checkpoint_id: str
    checkpoint_name: str
    requested_by: str
    reason: str
    status: str
    tables: tuple[PlannedTable, ...]
    pre_rollback_checkpoint_id: str | None
    applied_run_ids: tuple[str, ...]

    @property
    def scope(self) -> tuple[str, ...]:
        """Tables in the plan."""
        return tuple(t.table for t in self.tables)

    @property
    def applying_run(self) -> str | None:
        """The run that marked the plan `Applying` (the last one listed), while it is so."""
        if self.status != "Applying" or not self.applied_run_ids:
            return None
        return self.applied_run_ids[-1]


def load_recorded_plan(store: MetadataStore, plan_id: str) -> RecordedPlan:
    """Read a plan by id, or refuse naming the field."""
    rows = store.rows(MetadataTable.RollbackPlans, equals={"PlanId": plan_id})
    if not rows:
        raise InvalidInputError("approved_plan_id", f"no rollback plan has id {plan_id!r}")
    row: dict[str, Any] = rows[0]
    order = json.loads(row["TablesJson"])["tables"]
    intents = {r["TableName"]: r for r in store.rows(MetadataTable.RollbackPlanTables,
                                                     equals={"PlanId": plan_id})}
    tables = tuple(
        PlannedTable(t, int(intents[t]["CurrentVersion"]), int(intents[t]["TargetVersion"]),
                     str(intents[t]["IntentStatus"]), intents[t].get("RestoreVersion"),
                     intents[t].get("RowsChanged"))
        for t in order if t in intents
    )
    runs = tuple(r for r in (row.get("AppliedRunIds") or "").split(",") if r)
    return RecordedPlan(
        plan_id=plan_id, created_at=row["CreatedAt"], expires_at=row["ExpiresAt"],
        checkpoint_id=row["CheckpointId"], checkpoint_name=row.get("CheckpointName") or "",
        requested_by=row.get("RequestedBy") or "", reason=row.get("Reason") or "",
        status=row["Status"], tables=tables,
        pre_rollback_checkpoint_id=row.get("PreRollbackCheckpointId"), applied_run_ids=runs,
    )


def check_approval(
    recorded: RecordedPlan,
    *,
    checkpoint_id: str,
    scope: tuple[str, ...],
    approved_by: str,
    now: datetime | None = None,
) -> None:
    """Refuse an apply whose plan is expired, done, refused, mismatched or self-approved."""
    now = now or utc_now()
    if recorded.status in ("Refused",):
        raise PlanRefusedError(f"plan {recorded.plan_id} was refused at planning time; make a "
                               "new plan once the checkpoint problem is fixed")
    _refuse_applied(recorded)
    if now > recorded.expires_at:
        raise PlanRefusedError(f"plan {recorded.plan_id} expired at "
                               f"{recorded.expires_at:%Y-%m-%d %H:%M} UTC; make a new plan")
    if checkpoint_id != recorded.checkpoint_id:
        raise InvalidInputError("approved_plan_id", f"plan {recorded.plan_id} targets "
                                f"checkpoint {recorded.checkpoint_id}, not {checkpoint_id}")
    if tuple(sorted(scope)) != tuple(sorted(recorded.scope)):
        raise InvalidInputError("tables_scope", f"plan {recorded.plan_id} covers "
                                f"{', '.join(recorded.scope)}; this run asks for "
                                f"{', '.join(scope)}")
    if approved_by.strip().lower() == recorded.requested_by.strip().lower():
        raise InvalidInputError("approved_by", f"{approved_by} requested this plan; another "
                                "admin must approve it")


def _refuse_applied(recorded: RecordedPlan) -> None:
    if recorded.status == "Applied":
        raise PlanRefusedError(f"plan {recorded.plan_id} was already applied (runs "
                               f"{', '.join(recorded.applied_run_ids)}); make a new plan")


def check_not_in_progress(recorded: RecordedPlan, leases: LeaseStore) -> None:
    """Refuse a plan already applied, or being applied by a run that is still alive.

    The run applying a plan holds the lease of every table in it from the moment it marks the
    plan `Applying` until it has recorded the outcome (PostRollback checkpoint and status). So a
    plan still `Applying` whose run holds none of those leases, or only abandoned ones (expired,
    or its process gone from this host), was left by a dead run: the caller may resume it.
    """
    _refuse_applied(recorded)
    run = recorded.applying_run
    if run is None:
        return
    held = [table for table in recorded.scope if leases.live_holder(table) == run]
    if held:
        raise PlanRefusedError(
            f"plan {recorded.plan_id} is being applied by run {run}, which is still running (it "
            f"holds the lease of {', '.join(held)}); a plan is applied by one run at a time. "
            f"Nothing was changed: wait for run {run} to end (if it was killed, re-run this "
            "apply to resume it)."
        )


def ours(commit: CommitInfo, plan_id: str, table: str) -> bool:
    """Whether a commit is this plan's RESTORE of `table`."""
    return (commit.operation == "RESTORE"
            and commit.user_metadata.get(OPERATION_ID_KEY) == operation_id(plan_id, table))


def stale_tables(lakehouse: Lakehouse, recorded: RecordedPlan) -> list[str]:
    """Tables that received a data-changing commit since the plan that is not its own restore.

    VACUUM and OPTIMIZE change no data, and a re-run's own restores are not staleness.
    """
    stale = []
    for planned in recorded.tables:
        history = lakehouse.engine.history(lakehouse.bronze_uri(planned.table))
        for commit in history:
            if commit.version <= planned.current_version:
                continue
            if commit.data_change and not ours(commit, recorded.plan_id, planned.table):
                stale.append(f"{planned.table} (version {commit.version}: {commit.operation} "
                             f"at {commit.timestamp:%Y-%m-%d %H:%M:%S} UTC)")
                break
    return stale


def restore_commit(lakehouse: Lakehouse, plan_id: str, table: str) -> int | None:
    """Version of this plan's RESTORE commit of `table`, if one exists."""
    for commit in lakehouse.engine.history(lakehouse.bronze_uri(table)):
        if ours(commit, plan_id, table):
            return commit.version
    return None
