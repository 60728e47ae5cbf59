"""The maintenance run: every requested operation on every selected table, one table at a time.

Each bronze table is worked on under its lease (the daily sync and rollbacks hold it while they
write), waiting a bounded time for it; a table whose lease stays taken is skipped and reported,
not waited on forever. Before the first write a PreMaintenance checkpoint pins the table, then
OPTIMIZE runs (with its proof) and VACUUM (keeping every pinned version). One table's failure
never stops the others; more than three failing tables raise a Critical alert. A dry run takes
no lease and no checkpoint and writes nothing but its own audit rows.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from recovery_platform.domain.checkpoints.history import Checkpoint
from recovery_platform.domain.checkpoints.retention import covers, days_still_needed
from recovery_platform.domain.lakehouse.audit import AuditStep, AuditTrail
from recovery_platform.domain.lakehouse.errors import TableLeaseError
from recovery_platform.domain.lakehouse.lease import MAINTENANCE, Lease, LeaseStore
from recovery_platform.domain.lakehouse.location import Lakehouse
from recovery_platform.domain.lakehouse.metadata_store import MetadataStore
from recovery_platform.domain.lakehouse.parallelism import map_tables
from recovery_platform.domain.lakehouse.vocabulary import AuditStatus, OperationType
from recovery_platform.domain.maintenance.metadata_tables import metadata_targets
from recovery_platform.domain.maintenance.optimize import (
    OptimizeOutcome,
    Rewrite,
    engine_optimize,
    optimize_target,
)
from recovery_platform.domain.maintenance.pins import (
    ActivePin,
    KeptVersions,
    active_pins,
    kept_versions,
)
from recovery_platform.domain.maintenance.premaintenance import take_pre_maintenance_checkpoint
from recovery_platform.domain.maintenance.request import (
    METADATA,
    OPERATIONS,
    OPTIMIZE,
    RETENTION,
    VACUUM,
    MaintenanceRequest,
)
from recovery_platform.domain.maintenance.retention import RetentionOutcome, enforce_retention
from recovery_platform.domain.maintenance.storage import folder_bytes
from recovery_platform.domain.maintenance.summary import MaintenanceSummary, TableMaintenance
from recovery_platform.domain.maintenance.targets import MaintenanceTarget, bronze_target
from recovery_platform.domain.maintenance.vacuum import VacuumOutcome, vacuum_target

DEFAULT_LEASE_WAIT_SECONDS = 300.0
"""How long a table's lease is waited for (a daily sync of one table takes well under this)."""
FAILED_TABLES_ALERT = 3
"""More failing tables than this in one run is a Critical alert: something systemic is wrong."""


@dataclass
class _Run:
    """What every table of one run shares."""

    lakehouse: Lakehouse
    store: MetadataStore
    audit: AuditTrail
    request: MaintenanceRequest
    now: datetime
    leases: LeaseStore
    lease_wait_seconds: float
    rewrite: Rewrite
    checkpoint_lock: threading.Lock = field(default_factory=threading.Lock)


def run_maintenance(
    lakehouse: Lakehouse,
    store: MetadataStore,
    audit: AuditTrail,
    request: MaintenanceRequest,
    *,
    now: datetime,
    leases: LeaseStore | None = None,
    lease_wait_seconds: float = DEFAULT_LEASE_WAIT_SECONDS,
    rewrite: Rewrite = engine_optimize,
) -> MaintenanceSummary:
    """Run `request` and return its summary; the audit trail is flushed before returning.

    `now` (timezone-aware UTC) decides which checkpoints have expired and how old a commit
    is; `rewrite` replaces the engine's OPTIMIZE (tests prove the proof with it).
    """
    request.validate(lakehouse.config)
    actor = audit.actor  # every row says who asked, why, and whether it was a dry run
    audit.actor = replace(actor, dry_run=request.dry_run,
                          requested_by=actor.requested_by or request.requested_by,
                          reason=actor.reason or request.reason)
    store.ensure_tables(audit.run_id)
    clock = time.perf_counter()
    run = _Run(lakehouse, store, audit, request, now,
               leases or LeaseStore(lakehouse.lease_root), lease_wait_seconds, rewrite)
    tables = request.selected_tables(lakehouse.config)
    try:
        retention = _retention(run, tables)
        results = _bronze(run, tables)
        if request.wants(METADATA):
            results += [_maintain_metadata(run, t) for t in metadata_targets(lakehouse)]
        _alert_failures(audit, results, request.dry_run)
    finally:
        audit.flush()
    return MaintenanceSummary(
        run_id=audit.run_id, dry_run=request.dry_run,
        operations=tuple(o for o in OPERATIONS if request.wants(o)), started=now,
        duration_seconds=time.perf_counter() - clock, tables=tuple(results),
        checkpoints_deactivated=retention.deactivated,
        deactivation_failures=retention.failures,
        retention_below=tuple(s.table for s in retention.below),
    )


def _retention(run: _Run, tables: Sequence[str]) -> RetentionOutcome:
    """The retention operation, if requested, on the tables that exist."""
    if not run.request.wants(RETENTION):
        return RetentionOutcome()
    engine = run.lakehouse.engine
    existing = [t for t in tables if engine.table_exists(run.lakehouse.bronze_uri(t))]
    return enforce_retention(run.lakehouse, run.store, run.audit, existing,
                             today=run.now.date(), dry_run=run.request.dry_run)


def _bronze(run: _Run, tables: Sequence[str]) -> list[TableMaintenance]:
    """Vacuum and optimize of the bronze tables, if either was requested."""
    if not (run.request.wants(VACUUM) or run.request.wants(OPTIMIZE)):
        return []
    pins = active_pins(run.store, tables) if run.request.wants(VACUUM) else {}
    return list(map_tables(run.lakehouse.engine, tables,
                           lambda table: _maintain_bronze(run, table, pins.get(table, ()))))


def _maintain_bronze(run: _Run, table: str, pins: Sequence[ActivePin]) -> TableMaintenance:
    """One bronze table, under its lease unless dry; never raises (rule 6)."""
    target = bronze_target(run.lakehouse, table)
    wanted = _operations(run.request, target)
    if not wanted:
        return TableMaintenance(table, AuditStatus.Skipped,
                                "its configuration disables every requested operation")
    if not run.lakehouse.engine.table_exists(target.uri):
        return TableMaintenance(table, AuditStatus.Skipped, "the table does not exist yet")
    stage = [OperationType.CheckpointCreated if not run.request.dry_run else wanted[0]]
    try:
        if run.request.dry_run:
            return _work(run, target, pins, None, stage)
        with run.leases.hold(table, run.audit.run_id, wait_seconds=run.lease_wait_seconds,
                             purpose=MAINTENANCE) as lease:
            return _work(run, target, pins, lease, stage)
    except TableLeaseError as busy:
        return _not_done(run, table, wanted[0], AuditStatus.Skipped, str(busy), audited=False)
    except Exception as exc:  # one table's failure must not stop the others
        audited = stage[0] in (OperationType.Vacuum, OperationType.Optimize)
        return _not_done(run, table, stage[0], AuditStatus.Failed,
                         f"{type(exc).__name__}: {exc}", audited=audited)


def _operations(request: MaintenanceRequest, target: MaintenanceTarget) -> list[OperationType]:
    """The requested operations the table's configuration enables, in the order they run."""
    wanted = []
    if request.wants(OPTIMIZE) and target.optimize:
        wanted.append(OperationType.Optimize)
    if request.wants(VACUUM) and target.vacuum:
        wanted.append(OperationType.Vacuum)
    return wanted


def _not_done(run: _Run, table: str, operation: OperationType, status: AuditStatus,
              reason: str, *, audited: bool) -> TableMaintenance:
    """A skipped or failed table: audited (unless its own step was) and, if failed, alerted."""
    if not audited:
        run.audit.record(AuditStep(operation=operation, table=table, status=status,
                                   error=reason, details={"dry_run": run.request.dry_run}))
    if status is AuditStatus.Failed:
        run.audit.alert("MaintenanceFailed",
                        f"maintenance of {table} failed: {reason}", table=table)
    return TableMaintenance(table, status, reason)


def _work(run: _Run, target: MaintenanceTarget, pins: Sequence[ActivePin], lease: Lease | None,
          stage: list[OperationType]) -> TableMaintenance:
    """Checkpoint, optimize, vacuum one bronze table; `stage` tracks the step under way."""
    engine, dry_run = run.lakehouse.engine, run.request.dry_run
    check = lease.check if lease is not None else (lambda: None)
    size_before = folder_bytes(target.uri)
    checkpoint = None
    if not dry_run:
        check()
        with run.checkpoint_lock:  # checkpoint names are chosen by reading then writing
            checkpoint = take_pre_maintenance_checkpoint(
                run.lakehouse, run.store, run.audit, target.name, now=run.now,
                requested_by=run.request.requested_by, reason=run.request.reason)
        pins = [*pins, *_pins_of(checkpoint, target.name)]
    optimized = vacuumed = None
    if run.request.wants(OPTIMIZE) and target.optimize:
        stage[0] = OperationType.Optimize
        optimized = optimize_target(engine, target, run.audit, dry_run=dry_run,
                                    rewrite=run.rewrite, before_write=check)
    if run.request.wants(VACUUM) and target.vacuum and not _failed(optimized):
        stage[0] = OperationType.Vacuum
        kept = kept_versions(pins, engine.state(target.uri), run.now.date())
        vacuumed = vacuum_target(engine, target, kept, run.audit, dry_run=dry_run, now=run.now,
                                 before_write=check, clean_log=_log_covers_pins(run, target))
    result = _result(target.name, optimized, vacuumed)
    return replace(result, checkpoint_id=checkpoint.checkpoint_id if checkpoint else None,
                   size_before=size_before, size_after=folder_bytes(target.uri))


def _log_covers_pins(run: _Run, target: MaintenanceTarget) -> bool:
    """Whether the table's retention keeps every version its active checkpoints pin.

    Only then may expired log entries go; a table below is reported by the retention step.
    """
    needed = days_still_needed(run.store, target.name, run.now.date())
    return covers(run.lakehouse.engine.get_properties(target.uri), needed)


def _pins_of(checkpoint: Checkpoint, table: str) -> list[ActivePin]:
    """The new PreMaintenance checkpoint's pin, which the vacuum must keep too."""
    pin = checkpoint.pin(table)
    return [ActivePin(checkpoint.checkpoint_id, checkpoint.name,
                      checkpoint.checkpoint_type.value, pin.version, pin.table_id,
                      checkpoint.retention_date)]


def _failed(optimized: OptimizeOutcome | None) -> bool:
    return optimized is not None and optimized.status is AuditStatus.Failed


def _result(table: str, optimized: OptimizeOutcome | None, vacuumed: VacuumOutcome | None
            ) -> TableMaintenance:
    """The table's status: Failed if the proof failed, Warning if the vacuum was skipped."""
    if optimized is not None and optimized.status is AuditStatus.Failed:
        reason = (optimized.message or "optimize failed") + "; the vacuum was not run"
        return TableMaintenance(table, AuditStatus.Failed, reason, vacuumed, optimized)
    if vacuumed is not None and vacuumed.skipped:
        return TableMaintenance(table, AuditStatus.Warning, vacuumed.message, vacuumed, optimized)
    return TableMaintenance(table, AuditStatus.Succeeded, None, vacuumed, optimized)


def _maintain_metadata(run: _Run, target: MaintenanceTarget) -> TableMaintenance:
    """Optimize then vacuum one metadata table (no lease, no checkpoint); never raises."""
    engine, dry_run = run.lakehouse.engine, run.request.dry_run
    try:
        size_before = folder_bytes(target.uri)
        optimized = optimize_target(engine, target, run.audit, dry_run=dry_run,
                                    rewrite=run.rewrite)
        vacuumed = None
        if not _failed(optimized):
            kept = KeptVersions(latest=engine.state(target.uri).version)
            vacuumed = vacuum_target(engine, target, kept, run.audit, dry_run=dry_run,
                                     now=run.now, clean_log=True)
    except Exception as exc:  # its own step recorded the failure
        return _not_done(run, target.name, OperationType.Vacuum, AuditStatus.Failed,
                         f"{type(exc).__name__}: {exc}", audited=True)
    return replace(_result(target.name, optimized, vacuumed), size_before=size_before,
                   size_after=folder_bytes(target.uri))


def _alert_failures(audit: AuditTrail, results: Sequence[TableMaintenance], dry_run: bool
                    ) -> None:
    """A Critical alert when more than FAILED_TABLES_ALERT tables failed in this run."""
    failed = {r.table: r.reason for r in results if r.status is AuditStatus.Failed}
    if len(failed) <= FAILED_TABLES_ALERT:
        return
    listing = "; ".join(f"{t}: {r}" for t, r in failed.items())
    audit.alert("MaintenanceFailures",
                f"{len(failed)} tables failed maintenance{' (dry run)' if dry_run else ''}, "
                f"more than {FAILED_TABLES_ALERT}: {listing}",
                details={"tables": sorted(failed)})
