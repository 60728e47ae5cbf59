"""The daily sync run: every table synced, validated and checkpointed, then one batch checkpoint.

One table's failure, hold or refusal never stops the others. The DailyBatch checkpoint is always
recorded, validated only if every table synced and validated, so that a failed night still leaves
a trace and the last good batch stays the default rollback target.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date

from recovery_platform.domain.checkpoints.failure_streaks import failure_streaks
from recovery_platform.domain.checkpoints.history import (
    Checkpoint,
    PinKey,
    PinnedTable,
    StagedCheckpoint,
    pin_table,
    recorded_pins,
    stage_checkpoint,
    write_checkpoints,
)
from recovery_platform.domain.checkpoints.names import batch_checkpoint_name, daily_checkpoint_name
from recovery_platform.domain.lakehouse.audit import AuditStep, AuditTrail, utc_now
from recovery_platform.domain.lakehouse.fault_injection import crash_point
from recovery_platform.domain.lakehouse.lease import MAINTENANCE, SYNC, LeaseStore
from recovery_platform.domain.lakehouse.location import Lakehouse
from recovery_platform.domain.lakehouse.metadata_store import MetadataStore
from recovery_platform.domain.lakehouse.parallelism import dependency_levels, map_tables
from recovery_platform.domain.lakehouse.pipeline_config import (
    PurgeState,
    mirror_config,
    purge_states,
    record_sync_progress,
)
from recovery_platform.domain.lakehouse.retries import with_retries
from recovery_platform.domain.lakehouse.vocabulary import (
    AuditStatus,
    CheckpointType,
    OperationType,
)
from recovery_platform.domain.sync.table import (
    NOT_WRITTEN,
    SyncOverride,
    SyncStatus,
    TableSyncResult,
    sync_table,
)
from recovery_platform.domain.sync.validation import (
    TableValidation,
    record_validations,
    validate_table,
)
from recovery_platform.sources.connector import SourceConnector

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class TableOutcome:
    """What happened to one table in a sync run."""

    table: str
    sync: TableSyncResult
    validation: TableValidation | None
    pinned: PinnedTable | None
    checkpoint: Checkpoint | None
    problem: str | None
    seconds: float

    @property
    def ok(self) -> bool:
        """Synced (or unchanged), validated and checkpointed."""
        return self.problem is None and self.sync.status in (SyncStatus.Synced,
                                                             SyncStatus.Unchanged)


@dataclass(frozen=True)
class BatchOutcome:
    """The run's DailyBatch checkpoint and, if it is not validated, why."""

    checkpoint: Checkpoint
    reasons: tuple[str, ...]


@dataclass
class DailySyncRun:
    """Inputs of one daily sync run."""

    lakehouse: Lakehouse
    store: MetadataStore
    source: SourceConnector
    leases: LeaseStore
    sync_date: date
    run_id: str
    tables: Sequence[str] | None = None
    overrides: Sequence[SyncOverride] = ()
    lease_wait_seconds: float = 0.0
    maintenance_wait_seconds: float = 0.0
    """How long a table under maintenance (Sundays) is waited for; other writers are not."""


def run_daily_sync(run: DailySyncRun, audit: AuditTrail) -> Iterator[TableOutcome | BatchOutcome]:
    """Sync every table in scope, yielding each table's outcome, then the batch outcome."""
    config = run.lakehouse.config
    tables = config.validate_table_names(run.tables, field_name="tables")
    overrides = {
        config.validate_table_name(o.table, field_name="overrides.table"): o for o in run.overrides
    }
    run.store.ensure_tables(run.run_id)
    mirror_config(run.store, config)
    purges = purge_states(run.store)
    known = recorded_pins(run.store, tables)  # last sync's pins: the counts before this one
    outcomes: list[TableOutcome] = []
    staged: list[StagedCheckpoint] = []
    try:
        pinned: dict[str, int] = {}  # versions pinned so far: children validate against them

        def sync(table: str) -> tuple[TableOutcome, StagedCheckpoint | None]:
            return _sync_one(run, audit, table, purges.get(table, PurgeState()),
                             overrides.get(table), dict(pinned), known)

        waves = dependency_levels(config, tables)  # parents synced before children validate
        for outcome, daily in (
            result for wave in waves for result in map_tables(run.lakehouse.engine, wave, sync)
        ):
            outcomes.append(outcome)
            if outcome.pinned is not None:
                pinned[outcome.table] = outcome.pinned.version
            if daily is not None:
                staged.append(daily)
            yield outcome
        order = {table: i for i, table in enumerate(tables)}
        outcomes.sort(key=lambda o: order[o.table])  # waves finish out of the declared order
        staged.sort(key=lambda s: order[s.checkpoint.tables[0].table])
        batch, reasons = _stage_batch(run, audit, outcomes)
        written = write_checkpoints(run.store, [*staged, batch])
        staged = []
        _audit_daily_checkpoints(audit, written[:-1])
        record_validations(
            run.store, [o.validation for o in outcomes if o.validation is not None],
            run_id=run.run_id, context="PostSync",
        )
        record_sync_progress(
            run.store,
            [o.table for o in outcomes if o.ok],
            [o.table for o in outcomes if o.sync.wrote_purge],
            run.sync_date,
        )
        yield BatchOutcome(checkpoint=written[-1], reasons=reasons)
    finally:
        if staged:
            _audit_daily_checkpoints(audit, write_checkpoints(run.store, staged))
        audit.flush()
        _alert_failure_streaks(run, audit)


def _alert_failure_streaks(run: DailySyncRun, audit: AuditTrail) -> None:
    """Daily checkpoints failing 3 days in a row raise a Critical alert (CR-001 §6).

    Run after the day's audit rows are written, so today's failures count; reporting never
    turns a sync into a failure, nor hides the error a failed sync is raising.
    """
    try:
        failure_streaks(run.store, audit, today=utc_now().date())
        audit.flush()
    except Exception:  # graceful degradation: the streak is found again by the next run
        LOG.exception("could not check the Daily checkpoint failure streaks")


def _audit_daily_checkpoints(audit: AuditTrail, written: Sequence[Checkpoint]) -> None:
    """Audited once written, under the names they were written with (a re-run's take `_2`)."""
    for checkpoint in written:
        pin = checkpoint.tables[0]
        with audit.step(OperationType.CheckpointCreated, pin.table) as step:
            step.checkpoint_id = checkpoint.checkpoint_id
            step.delta_version = pin.version
            step.details = {"name": checkpoint.name, "type": CheckpointType.Daily.value}


def _sync_one(
    run: DailySyncRun,
    audit: AuditTrail,
    table: str,
    purge: PurgeState,
    override: SyncOverride | None,
    parent_versions: Mapping[str, int],
    known: Mapping[PinKey, PinnedTable],
) -> tuple[TableOutcome, StagedCheckpoint | None]:
    started = time.perf_counter()
    lakehouse = run.lakehouse
    validation: TableValidation | None = None
    try:
        with run.leases.hold(table, run.run_id, wait_seconds=run.lease_wait_seconds,
                             purpose=SYNC,
                             patience={MAINTENANCE: run.maintenance_wait_seconds}) as lease:
            extract = run.source.extract(table, run.sync_date)
            result = sync_table(
                lakehouse, table, extract.uri, sync_date=run.sync_date, synced_at=utc_now(),
                purge=purge, run_id=run.run_id, override=override, known=known, lease=lease,
            )
            _audit_sync(audit, result)
            if result.status in NOT_WRITTEN:
                untouched = pin_table(lakehouse, table)
                return TableOutcome(table, result, None, untouched, None, result.message,
                                    time.perf_counter() - started), None
            validation = validate_table(lakehouse, table, version=result.version_after,
                                        parent_versions=parent_versions)
            _audit_validation(audit, validation)
    except Exception as exc:  # one table's failure must not stop the others
        message = f"{type(exc).__name__}: {exc}"
        failed = TableSyncResult(table, SyncStatus.Failed, None, None, None, message=message)
        with audit.step(OperationType.TableSync, table) as step:
            step.status, step.error = AuditStatus.Failed, message
        audit.alert("SyncFailed", f"sync of {table} failed: {message}",
                    table=table)
        return TableOutcome(table, failed, validation, None, None, message,
                            time.perf_counter() - started), None
    pinned, daily, problem = _checkpoint_table(run, audit, table, validation)
    return TableOutcome(table, result, validation, pinned, daily.checkpoint if daily else None,
                        problem, time.perf_counter() - started), daily


def _checkpoint_table(
    run: DailySyncRun, audit: AuditTrail, table: str, validation: TableValidation
) -> tuple[PinnedTable | None, StagedCheckpoint | None, str | None]:
    """Pin the table and stage its Daily checkpoint; a failure is audited, never raised."""
    lakehouse = run.lakehouse
    if not validation.passed:
        problem = "validation failed: " + "; ".join(validation.failures)
        reasons = list(validation.failures)
        audit.alert("ValidationFailed", f"{table}: {problem}", table=table,
                    details={"reasons": reasons, "version": validation.version})
        audit.record(AuditStep(  # CR-003 §7: every validation alert is audited as such
            OperationType.ValidationAlert, table, status=AuditStatus.Failed,
            delta_version=validation.version, error=problem,
            details={"reasons": reasons, "alert": "ValidationFailed"}))
        try:
            pinned = pin_table(lakehouse, table, version=validation.version)
        except Exception:
            return None, None, problem
        return replace(pinned, validated=False), None, problem
    try:
        pinned = with_retries(lambda: pin_table(lakehouse, table, version=validation.version))
        crash_point("sync.daily_checkpoint")
        staged = with_retries(lambda: stage_checkpoint(
            lakehouse, audit, checkpoint_type=CheckpointType.Daily,
            name=daily_checkpoint_name(run.sync_date), pins=[pinned], validated=True,
            table_name=table,
        ))
    except Exception as exc:  # checkpoint failure is audited and does not fail the sync
        message = f"{type(exc).__name__}: {exc}"
        with audit.step(OperationType.CheckpointFailed, table) as step:
            step.status, step.error = AuditStatus.Failed, message
        audit.alert("CheckpointFailed",
                    f"Daily checkpoint of {table} failed: {message}", table=table)
        return None, None, f"checkpoint failed: {message}"
    return pinned, staged, None


def _stage_batch(
    run: DailySyncRun, audit: AuditTrail, outcomes: Sequence[TableOutcome]
) -> tuple[StagedCheckpoint, tuple[str, ...]]:
    """Stage the batch; it is validated only as a complete, validated set of every table."""
    finished = utc_now()
    pins = [o.pinned for o in outcomes if o.pinned is not None]
    in_run = {o.table for o in outcomes}
    reasons = [f"{o.table}: {o.problem or o.sync.status.value}" for o in outcomes if not o.ok]
    reasons += [f"{t}: not synced in this run" for t in run.lakehouse.config.table_names
                if t not in in_run]
    validated = not reasons and len(pins) == len(outcomes)
    held = [o.table for o in outcomes if o.sync.status in NOT_WRITTEN]
    staged = stage_checkpoint(
        run.lakehouse, audit, checkpoint_type=CheckpointType.DailyBatch,
        name=batch_checkpoint_name(finished, run.run_id), pins=pins, validated=validated,
        notes=None if validated else "not validated: " + " | ".join(reasons), created=finished,
        frozen=held,
    )
    with audit.step(OperationType.BatchCheckpoint) as step:
        step.checkpoint_id = staged.checkpoint.checkpoint_id
        step.status = AuditStatus.Succeeded if validated else AuditStatus.Warning
        step.details = {"tables": {p.table: p.version for p in pins}, "reasons": reasons,
                        "total_rows": sum(p.counts.total for p in pins)}
    return staged, tuple(reasons)


def _audit_sync(audit: AuditTrail, result: TableSyncResult) -> None:
    counts = result.classification
    found = result.duplicates
    duplicates = {} if found is None else {
        "status": result.status.value, "duplicate_rows": found.extra_rows,
        "duplicate_keys": found.repeated_keys, "sample_keys": list(found.sample_keys)}
    if result.override is not None:
        with audit.step(OperationType.SyncOverride, result.table) as step:
            step.approved_by = result.override.approved_by
            step.reason = result.override.reason
            step.details = {"reason": result.override.reason,
                            "approved_by": result.override.approved_by}
    operation = OperationType.SyncHeld if result.status is SyncStatus.Held else (
        OperationType.TableSync)
    with audit.step(operation, result.table) as step:
        step.delta_version = result.version_after
        if result.status in NOT_WRITTEN:
            step.status, step.error = AuditStatus.Held, result.message
        if counts is not None:
            step.counts = {"read": counts.source_rows, "inserted": counts.inserted,
                           "updated": counts.updated, "deleted": counts.deleted,
                           "purged": counts.purged, "reactivated": counts.reactivated}
            step.details = {"status": result.status.value, "active_before": counts.active_before,
                            "deleted_share": round(counts.deleted_share, 6),
                            "purge_consumed": result.purge_consumed}
        if duplicates:
            step.details = duplicates
    if result.status is SyncStatus.Held:
        audit.alert("SyncHeld", result.message, table=result.table)
    elif result.status is SyncStatus.Refused:
        audit.alert("SyncRefused", result.message, table=result.table,
                    details=duplicates)


def _audit_validation(audit: AuditTrail, validation: TableValidation) -> None:
    with audit.step(OperationType.BronzeValidation, validation.table) as step:
        step.delta_version = validation.version
        step.status = AuditStatus.Succeeded if validation.passed else AuditStatus.Failed
        step.error = "; ".join(validation.failures) or None
