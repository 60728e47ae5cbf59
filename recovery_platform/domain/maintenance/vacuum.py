"""VACUUM that never takes a restore point away (safety rules 1, 2 and 5 of the maintenance job).

A vacuum deletes the data files of old versions for good, so each one here:
- keeps every file of the versions active checkpoints pin, and of the latest (`pins`); an
  engine that cannot spare single files (Spark) refuses instead, and the table is skipped
  with a Warning audit row and an alert naming the checkpoints;
- runs with max(configured hours, the table's `delta.deletedFileRetentionDuration`) and
  reports both when they differ;
- lists first (a dry run of the engine), so a dry run reports exactly what the real run would
  delete, with the bytes, the versions that would stop being restorable and the checkpoints
  (if any) pinning them; a real run then proves every pinned version is still restorable.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from recovery_platform.domain.lakehouse.audit import AuditStep, AuditTrail
from recovery_platform.domain.lakehouse.vocabulary import AuditStatus, OperationType
from recovery_platform.domain.maintenance.pins import KeptVersions
from recovery_platform.domain.maintenance.storage import file_sizes
from recovery_platform.domain.maintenance.targets import MaintenanceTarget
from recovery_platform.engine import EngineError, KeptFilesError, StorageEngine
from recovery_platform.engine.retention_properties import file_retention_hours

BeforeWrite = Callable[[], None]
"""Called right before each commit (a lease's `check`): a run that lost its table stops."""


@dataclass(frozen=True)
class VacuumOutcome:
    """What one vacuum did (or, on a dry run, would do) to one table."""

    table: str
    dry_run: bool
    status: AuditStatus
    files: tuple[str, ...]
    bytes: int | None
    configured_hours: int
    table_hours: float | None
    effective_hours: int
    kept_versions: tuple[int, ...]
    unreachable_versions: tuple[int, ...] = ()
    """Versions the vacuum made (dry run: would make) unrestorable; none of them is kept."""
    pinned_unreachable: tuple[str, ...] = ()
    """Checkpoints (active, past their retention date) pinning one of those versions."""
    message: str | None = None

    @property
    def skipped(self) -> bool:
        """The vacuum did not run (a kept version needed a file it would delete)."""
        return self.status is AuditStatus.Warning

    @property
    def retention_differs(self) -> bool:
        """The table's own retention is longer than the configured one, so it was used."""
        return self.effective_hours != self.configured_hours


def versions_at_risk(
    engine: StorageEngine, uri: str, kept: KeptVersions, retention_hours: int, now: datetime
) -> tuple[int, ...]:
    """Versions a vacuum with `retention_hours` can make unrestorable: an upper bound.

    A file is deleted once a commit older than the retention window removed it. The last such
    commit, R, holds none of those files, so a version v < R at risk is one holding a file R
    lacks (files in kept versions are spared too, so a version may be listed and survive; a
    real run checks the listed ones afterwards). Versions whose log is gone are not listed:
    they were not restorable before the vacuum either.
    """
    cutoff = now - timedelta(hours=retention_hours)
    old = sorted(c.version for c in engine.history(uri) if c.timestamp < cutoff)
    if len(old) < 2:
        return ()
    last_old, keep = old[-1], set(kept.versions)
    risky = []
    for version in old[:-1]:
        if version in keep:
            continue
        try:
            if engine.storage_delta(uri, version, last_old).files_removed:
                risky.append(version)
        except EngineError:
            continue
    return tuple(risky)


def _unrestorable(engine: StorageEngine, uri: str, versions: tuple[int, ...]) -> tuple[int, ...]:
    """Those of `versions` that are no longer restorable (checked after a real vacuum)."""
    table_id = engine.state(uri).table_id
    return tuple(v for v in versions if not engine.is_restorable(uri, v, table_id).restorable)


def vacuum_target(
    engine: StorageEngine,
    target: MaintenanceTarget,
    kept: KeptVersions,
    audit: AuditTrail,
    *,
    dry_run: bool,
    now: datetime,
    before_write: BeforeWrite = lambda: None,
    clean_log: bool = False,
) -> VacuumOutcome:
    """Vacuum one table keeping `kept`, audited as one `Vacuum` step (see the module doc).

    With `clean_log` (the caller checked that the table's log retention covers every pin), a
    real run also deletes expired log entries: delta-rs commits never do, so the log of a
    table would otherwise grow for ever.
    """
    table_hours = file_retention_hours(engine.get_properties(target.uri))
    with audit.step(OperationType.Vacuum, target.name) as step:
        step.delta_version = kept.latest
        try:
            planned = engine.vacuum(target.uri, retention_hours=target.retention_hours,
                                    dry_run=True, keep_versions=kept.versions)
        except KeptFilesError as refused:
            return _skipped(target, kept, audit, step, refused, dry_run=dry_run,
                            table_hours=table_hours)
        sizes = file_sizes(target.uri, planned.files) if planned.files else {}
        at_risk = (versions_at_risk(engine, target.uri, kept, planned.retention_hours, now)
                   if planned.files else ())
        files, lost = planned.files, at_risk
        if not dry_run and planned.files:
            before_write()
            files = engine.vacuum(target.uri, retention_hours=target.retention_hours,
                                  dry_run=False, keep_versions=kept.versions).files
            lost = _unrestorable(engine, target.uri, at_risk)
        outcome = VacuumOutcome(
            table=target.name, dry_run=dry_run, status=AuditStatus.Succeeded, files=files,
            bytes=None if sizes is None else sum(sizes.get(f, 0) for f in files),
            configured_hours=target.retention_hours, table_hours=table_hours,
            effective_hours=planned.retention_hours, kept_versions=kept.versions,
            unreachable_versions=lost,
            pinned_unreachable=tuple(label for v in lost for label in kept.pinned_by(v)),
        )
        _describe(step, outcome)
        if not dry_run and clean_log:
            before_write()
            engine.clean_up_log(target.uri)
            step.details["log_cleaned_up"] = True
        if not dry_run and (files or clean_log):
            _prove_kept(engine, target, kept, audit, step)
        return outcome


def _describe(step: AuditStep, outcome: VacuumOutcome) -> None:
    """The audit row's counts and details for a vacuum that ran (or would run)."""
    step.counts = {"files": len(outcome.files), "bytes": outcome.bytes or 0}
    details: dict[str, Any] = {
        "dry_run": outcome.dry_run,
        "configured_retention_hours": outcome.configured_hours,
        "effective_retention_hours": outcome.effective_hours,
        "kept_versions": list(outcome.kept_versions),
        "unreachable_versions": list(outcome.unreachable_versions),
        "checkpoints_pinning_unreachable": list(outcome.pinned_unreachable),
        "files": list(outcome.files[:20]),
    }
    if outcome.retention_differs:
        details["table_retention_hours"] = outcome.table_hours
    if outcome.bytes is None:
        details["bytes"] = "unknown (not a local lakehouse)"
    step.details = details


def _skipped(
    target: MaintenanceTarget,
    kept: KeptVersions,
    audit: AuditTrail,
    step: AuditStep,
    refused: KeptFilesError,
    *,
    dry_run: bool,
    table_hours: float | None,
) -> VacuumOutcome:
    """A vacuum the engine refused because kept versions need files it would delete.

    Only an engine without `vacuum_keep_versions` refuses. The table keeps its files, the step
    is a Warning, and (on a real run) an alert names the checkpoints that protected it.
    """
    names = ", ".join(kept.checkpoint_labels) or "none (the latest version)"
    message = (f"vacuum of {target.name} skipped: it would delete files that kept versions "
               f"{list(kept.versions)} need, pinned by checkpoints {names}; nothing was "
               f"deleted ({refused})")
    step.status, step.error = AuditStatus.Warning, message
    step.details = {"dry_run": dry_run, "skipped": True, "kept_versions": list(kept.versions),
                    "checkpoints": list(kept.checkpoint_labels)}
    if not dry_run:
        audit.alert("VacuumSkipped", message, table=target.name,
                    details={"checkpoints": list(kept.checkpoint_labels)})
    hours = max(target.retention_hours, math.ceil(table_hours or 0))
    return VacuumOutcome(
        table=target.name, dry_run=dry_run, status=AuditStatus.Warning, files=(), bytes=0,
        configured_hours=target.retention_hours, table_hours=table_hours, effective_hours=hours,
        kept_versions=kept.versions, message=message,
    )


def _prove_kept(
    engine: StorageEngine,
    target: MaintenanceTarget,
    kept: KeptVersions,
    audit: AuditTrail,
    step: AuditStep,
) -> None:
    """Every pinned version is still restorable after the vacuum; a Critical alert if not.

    The engine was asked to keep them, so a failure here is an engine defect: it is raised so
    that the table's maintenance is marked Failed, never reported as a success.
    """
    lost = _unrestorable(engine, target.uri, tuple(p.version for p in kept.pins))
    if not lost:
        return
    names = sorted({label for v in lost for label in kept.pinned_by(v)})
    message = (f"after the vacuum of {target.name}, pinned version(s) {list(lost)} are no "
               f"longer restorable; checkpoints affected: {', '.join(names)}")
    step.details["lost_pinned_versions"] = list(lost)
    audit.alert("PinnedVersionLost", message, table=target.name)
    raise RuntimeError(message)
