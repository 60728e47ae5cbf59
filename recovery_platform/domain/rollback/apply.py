"""Applying a recorded rollback plan: pin the present, restore, prove, pin the result.

Every restore commit carries the plan's operation id, and the plan keeps a per-table intent log,
so a re-run of the same approved plan after a crash converges: it reads each table's history,
never restores a table twice, restores the rest, and the audit trail shows both runs. Only a dead
run is resumed: the applying run holds its tables' leases until the outcome is recorded, and a
plan whose applying run still holds one is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack

from recovery_platform.domain.checkpoints.history import (
    Checkpoint,
    load_checkpoint,
    pin_tables,
    record_checkpoint,
    recorded_pins,
)
from recovery_platform.domain.checkpoints.retention import (
    days_still_needed_by_table,
    ensure_retention,
)
from recovery_platform.domain.lakehouse.audit import AuditTrail, utc_now
from recovery_platform.domain.lakehouse.fault_injection import crash_point
from recovery_platform.domain.lakehouse.lease import Lease, LeaseStore
from recovery_platform.domain.lakehouse.location import Lakehouse
from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable
from recovery_platform.domain.lakehouse.metadata_store import MetadataStore
from recovery_platform.domain.lakehouse.parallelism import map_tables
from recovery_platform.domain.lakehouse.vocabulary import (
    AuditStatus,
    CheckpointType,
    OperationType,
)
from recovery_platform.domain.rollback.outcome import ApplyResult, TableRestoreOutcome
from recovery_platform.domain.rollback.proof import (
    RestoredTableCheck,
    check_restored_table,
    record_post_rollback,
)
from recovery_platform.domain.rollback.record import (
    OPERATION_ID_KEY,
    PlannedTable,
    PlanRefusedError,
    RecordedPlan,
    check_not_in_progress,
    load_recorded_plan,
    operation_id,
    restore_commit,
    stale_tables,
)
from recovery_platform.domain.rollback.restore_points import post_rollback_checkpoint
from recovery_platform.engine import COMMIT_METADATA_PREFIX, ConcurrentCommitError

Log = Callable[[str], None]


def _set_plan(store: MetadataStore, plan_id: str, **values: object) -> None:
    store.upsert(MetadataTable.RollbackPlans, [{"PlanId": plan_id, **values}], key="PlanId")


def _set_intents(
    store: MetadataStore, plan_id: str, intents: Mapping[str, Mapping[str, object]]
) -> None:
    """Write many tables' intent rows in one commit.

    The RESTORE commits themselves carry the operation id, so a crash before this write still
    converges: the re-run reads each table's history.
    """
    if not intents:
        return
    now = utc_now()
    store.upsert(MetadataTable.RollbackPlanTables,
                 [{"PlanTableKey": operation_id(plan_id, table), "UpdatedAt": now, **values}
                  for table, values in intents.items()], key="PlanTableKey")


def apply_plan(
    lakehouse: Lakehouse,
    store: MetadataStore,
    leases: LeaseStore,
    audit: AuditTrail,
    recorded: RecordedPlan,
    target: Checkpoint,
    *,
    log: Log,
    lease_wait_seconds: float = 0.0,
) -> ApplyResult:
    """Apply an approved, fresh plan while holding every table's lease.

    One run applies a plan: a plan being applied by a live run is refused before anything is
    touched, and one left `Applying` by a dead run is resumed. The plan is read again once the
    leases are held (another run may have finished it meanwhile), and the outcome is recorded
    before they are released, so that no run can take this one for dead while it finishes.
    """
    check_not_in_progress(recorded, leases)
    with ExitStack() as stack:
        held: dict[str, Lease] = {}
        for table in sorted(recorded.scope):
            held[table] = stack.enter_context(
                leases.hold(table, audit.run_id, wait_seconds=lease_wait_seconds))
        current = load_recorded_plan(store, recorded.plan_id)
        check_not_in_progress(current, leases)
        return _apply_held(lakehouse, store, audit, current, target, log, held)


def _apply_held(
    lakehouse: Lakehouse,
    store: MetadataStore,
    audit: AuditTrail,
    recorded: RecordedPlan,
    target: Checkpoint,
    log: Log,
    held: Mapping[str, Lease],
) -> ApplyResult:
    """Restore, prove and record the outcome; the caller holds every table's lease."""
    stale = stale_tables(lakehouse, recorded)
    if stale:
        raise PlanRefusedError(
            f"plan {recorded.plan_id} is stale: {'; '.join(stale)} changed after it was "
            "made. Nothing was restored; make a new plan and review it."
        )
    _set_plan(store, recorded.plan_id, Status="Applying",
              AppliedRunIds=",".join([*recorded.applied_run_ids, audit.run_id]),
              ApprovedBy=audit.actor.approved_by)
    pre = _pre_rollback_checkpoint(lakehouse, store, audit, recorded)
    audit.flush()  # durable before any table is touched: a killed run stays in the trail
    crash_point("rollback.after_pre_rollback_checkpoint")
    planned_by_table = {planned.table: (i, planned)
                        for i, planned in enumerate(recorded.tables, start=1)}
    outcomes = list(map_tables(
        lakehouse.engine, list(planned_by_table),
        lambda table: _restore_one(lakehouse, audit, recorded, *planned_by_table[table], log,
                                   held[table]),
    ))
    _set_intents(store, recorded.plan_id, {o.table: _restore_intent(o) for o in outcomes})
    _restore_retention(lakehouse, store, audit, outcomes)
    checked = _post_validate(lakehouse, store, audit, recorded, target, pre, outcomes)
    crash_point("rollback.before_outcome_recorded")
    post = post_rollback_checkpoint(lakehouse, store, audit, recorded, target, pre, checked)
    result = ApplyResult(recorded.plan_id, tuple(checked), pre, post)
    _set_plan(store, recorded.plan_id,
              Status="Applied" if result.succeeded else "PartiallyApplied",
              PostRollbackCheckpointId=post.checkpoint_id if post else None)
    return result


def _pre_rollback_checkpoint(
    lakehouse: Lakehouse, store: MetadataStore, audit: AuditTrail, recorded: RecordedPlan
) -> Checkpoint:
    """Pin every table as the plan found it; a re-run reuses the first run's checkpoint."""
    if recorded.pre_rollback_checkpoint_id:
        return load_checkpoint(store, recorded.pre_rollback_checkpoint_id)
    with audit.step(OperationType.PreRollbackCheckpoint) as step:
        tables = [t.table for t in recorded.tables]
        pins = pin_tables(lakehouse, tables,
                          {t.table: t.current_version for t in recorded.tables},
                          known=recorded_pins(store, tables))
        checkpoint = record_checkpoint(
            lakehouse, store, audit, checkpoint_type=CheckpointType.PreRollback,
            name=f"pre_rollback_{recorded.plan_id[:8]}", pins=pins, validated=True,
            notes=f"before rollback plan {recorded.plan_id} to {recorded.checkpoint_name}",
            requested_by=audit.actor.requested_by,
        )
        step.checkpoint_id = checkpoint.checkpoint_id
        step.details = {"plan_id": recorded.plan_id,
                        "tables": {p.table: p.version for p in pins}}
    _set_plan(store, recorded.plan_id, PreRollbackCheckpointId=checkpoint.checkpoint_id)
    return checkpoint


def _restore_intent(outcome: TableRestoreOutcome) -> dict[str, object]:
    """The intent row a restore leaves: committed (with its version), noop, or failed."""
    if outcome.status == "failed":
        return {"IntentStatus": "failed", "ErrorMessage": outcome.error}
    return {"IntentStatus": outcome.status,
            "RestoreVersion": outcome.version_after if outcome.status == "committed" else None}


def _restore_one(
    lakehouse: Lakehouse,
    audit: AuditTrail,
    recorded: RecordedPlan,
    index: int,
    planned: PlannedTable,
    log: Log,
    lease: Lease,
) -> TableRestoreOutcome:
    table = planned.table
    log(f"Restoring table {index} of {len(recorded.tables)}: {table} "
        f"(version {planned.current_version} → {planned.target_version})")
    uri = lakehouse.bronze_uri(table)
    op_id = operation_id(recorded.plan_id, table)
    with audit.step(OperationType.TableRestore, table) as step:
        step.details = {"plan_id": recorded.plan_id, "operation_id": op_id,
                        "target_version": planned.target_version}
        # only a re-run after a killed apply can find a restore of this plan already committed
        rerun = bool(recorded.applied_run_ids)
        before = planned.current_version
        try:
            done = restore_commit(lakehouse, recorded.plan_id, table) if rerun else None
            if done is not None:
                status, after = "committed", done
                before = lakehouse.engine.state(uri).version
                step.details["resumed"] = f"restore commit {done} found in history"
            elif planned.unchanged:
                before = lakehouse.engine.state(uri).version
                status, after = "noop", before
                step.details["noop"] = "content already equals the checkpoint (plan diff is 0)"
            else:
                lease.check()  # a run that lost the table must not restore over its new writer
                result = lakehouse.engine.restore(uri, planned.target_version, commit_metadata={
                    OPERATION_ID_KEY: op_id,
                    f"{COMMIT_METADATA_PREFIX}run_id": audit.run_id,
                    f"{COMMIT_METADATA_PREFIX}operation": "TableRestore",
                }, compare_content=False)
                crash_point("rollback.after_restore_commit")
                status = "noop" if result.noop else "committed"
                before, after = result.version_before, result.version_after
        except Exception as exc:  # graceful degradation: the other tables still restore
            error = _plain(exc)
            step.status, step.error = AuditStatus.Failed, error
            log(f"Restoring {table} failed: {error}")
            return TableRestoreOutcome(table, "failed", before, None, error)
        step.delta_version = after
        step.details["status"] = status
    return TableRestoreOutcome(table, status, before, after)


def _restore_retention(
    lakehouse: Lakehouse,
    store: MetadataStore,
    audit: AuditTrail,
    outcomes: Sequence[TableRestoreOutcome],
) -> None:
    """Re-secure retention a RESTORE took back with the target version's table properties."""
    restored = [o.table for o in outcomes if o.status == "committed"]
    if not restored:
        return
    needed = days_still_needed_by_table(store, restored, utc_now().date())

    def secure(table: str) -> None:
        if needed[table] > 0:
            ensure_retention(lakehouse, table, needed[table], audit)

    list(map_tables(lakehouse.engine, restored, secure))


def _plain(exc: Exception) -> str:
    if isinstance(exc, ConcurrentCommitError):
        return "table changed during the rollback; re-plan"
    return f"{type(exc).__name__}: {exc}"


def _prove(
    lakehouse: Lakehouse,
    target: Checkpoint,
    pre: Checkpoint,
    outcome: TableRestoreOutcome,
    versions: Mapping[str, int],
) -> RestoredTableCheck:
    """The table's proof; a table that cannot even be read fails it, and the others go on."""
    try:
        return check_restored_table(lakehouse, target, outcome.table, pre.pin(outcome.table),
                                    versions)
    except Exception as exc:  # graceful degradation, as for restores
        version = outcome.version_after if outcome.version_after is not None else -1
        return RestoredTableCheck(outcome.table, version, (),
                                  (f"the restored table or a table it references cannot be read: "
                                   f"{_plain(exc)}",))


def _latest(lakehouse: Lakehouse, table: str) -> int | None:
    """The table's latest version; None when it cannot be read (its proof will say so)."""
    try:
        return lakehouse.engine.state(lakehouse.bronze_uri(table)).version
    except Exception:  # graceful degradation: the proof reports the table unreadable
        return None


def _post_validate(
    lakehouse: Lakehouse,
    store: MetadataStore,
    audit: AuditTrail,
    recorded: RecordedPlan,
    target: Checkpoint,
    pre: Checkpoint,
    outcomes: Sequence[TableRestoreOutcome],
) -> list[TableRestoreOutcome]:
    def prove(outcome: TableRestoreOutcome) -> TableRestoreOutcome:
        if outcome.status == "failed":
            return outcome
        with audit.step(OperationType.PostRollbackValidation, outcome.table) as step:
            check = _prove(lakehouse, target, pre, outcome, versions)
            step.delta_version = check.version
            step.details = {"plan_id": recorded.plan_id,
                            "metrics": {m.name: [m.after, m.expected] for m in check.metrics},
                            "relations": check.relations}
            if not check.passed:
                step.status, step.error = AuditStatus.Failed, "; ".join(check.failures)
                audit.alert("RollbackValidationFailed",
                            f"{outcome.table} does not match checkpoint {target.name} after "
                            f"the rollback: {'; '.join(check.failures)}. Do not trust this "
                            f"table; roll back to the PreRollback checkpoint {pre.name} or "
                            f"investigate.", table=outcome.table)
        return TableRestoreOutcome(outcome.table, outcome.status, outcome.version_before,
                                   outcome.version_after, outcome.error, check)

    by_table = {o.table: o for o in outcomes}
    # the leases are held, so each table's latest version (its restore, then any retention
    # commit) is read once here, for its own proof and for those of its children
    tables = list(by_table)
    found = dict(zip(tables, map_tables(lakehouse.engine, tables, lambda table: _latest(
        lakehouse, table)), strict=True))
    versions = {table: version for table, version in found.items() if version is not None}
    checked = list(map_tables(lakehouse.engine, tables, lambda table: prove(by_table[table])))
    _set_intents(store, recorded.plan_id, {
        o.table: {"IntentStatus": "validated" if o.check.passed else "failed",
                  "ErrorMessage": None if o.check.passed else "; ".join(o.check.failures)}
        for o in checked if o.check is not None
    })
    record_post_rollback(store, [o.check for o in checked if o.check], run_id=audit.run_id,
                         plan_id=recorded.plan_id)
    return checked
