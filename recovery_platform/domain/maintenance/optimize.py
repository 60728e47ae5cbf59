"""OPTIMIZE / Z-ORDER with a proof that no value changed (safety rule 3 of the maintenance job).

The record-state fingerprint a checkpoint pins covers only key and tracking columns, so it
cannot see a compaction writer that silently altered a value it could not represent. The proof
here compares the counts and a fingerprint over every column (`WHOLE_ROWS`) of the version the
rewrite started from and the version it wrote; if they differ, the table is restored to the
former at once, the step is Failed with both fingerprints, and a Critical alert is raised.

The rewrite itself is a parameter (`Rewrite`, by default the engine's OPTIMIZE) so that the
proof can be exercised with a rewrite that really does change a value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from recovery_platform.domain.lakehouse.audit import AuditStep, AuditTrail
from recovery_platform.domain.lakehouse.vocabulary import AuditStatus, OperationType
from recovery_platform.domain.maintenance.targets import MaintenanceTarget
from recovery_platform.engine import (
    COMMIT_METADATA_PREFIX,
    WHOLE_ROWS,
    OptimizeResult,
    RowCounts,
    StorageEngine,
)

Rewrite = Callable[[StorageEngine, str, tuple[str, ...]], OptimizeResult]
"""Rewrites a table's files (engine, uri, Z-order columns) in one commit; says which version."""


def engine_optimize(engine: StorageEngine, uri: str, zorder: tuple[str, ...]) -> OptimizeResult:
    """The default rewrite: the engine's OPTIMIZE, Z-ordered when columns are configured."""
    return engine.optimize(uri, zorder_columns=zorder)


def _numbers(counts: RowCounts) -> tuple[int, ...]:
    """The counts themselves, not how they were obtained (log statistics or a scan)."""
    return (counts.total, counts.active, counts.deleted, counts.purged, counts.null_keys,
            counts.both_flags)


@dataclass(frozen=True)
class OptimizeProof:
    """Counts and all-column fingerprints of the versions before and after a rewrite."""

    version_before: int
    version_after: int
    counts_before: RowCounts
    counts_after: RowCounts
    fingerprint_before: int
    fingerprint_after: int

    @property
    def holds(self) -> bool:
        """Every row is identical in every column, by counts and fingerprint."""
        return (_numbers(self.counts_before) == _numbers(self.counts_after)
                and self.fingerprint_before == self.fingerprint_after)

    def as_details(self) -> dict[str, object]:
        """The proof as audit details; fingerprints as the 16 hex digits checkpoints use."""
        return {
            "version_before": self.version_before,
            "version_after": self.version_after,
            "fingerprint_before": f"{self.fingerprint_before:016x}",
            "fingerprint_after": f"{self.fingerprint_after:016x}",
            "rows_before": self.counts_before.total,
            "rows_after": self.counts_after.total,
        }


@dataclass(frozen=True)
class OptimizeOutcome:
    """What one optimize did (or would do) to one table."""

    table: str
    dry_run: bool
    status: AuditStatus
    files_added: int = 0
    files_removed: int = 0
    bytes_rewritten: int = 0
    proof: OptimizeProof | None = None
    restored_to: int | None = None
    message: str | None = None


def prove(engine: StorageEngine, target: MaintenanceTarget, before: int, after: int
          ) -> OptimizeProof:
    """Counts (by the target's shape) and WHOLE_ROWS fingerprints at two exact versions."""
    return OptimizeProof(
        version_before=before, version_after=after,
        counts_before=engine.row_counts(target.uri, target.shape, before),
        counts_after=engine.row_counts(target.uri, target.shape, after),
        fingerprint_before=engine.fingerprint(target.uri, WHOLE_ROWS, before),
        fingerprint_after=engine.fingerprint(target.uri, WHOLE_ROWS, after),
    )


def optimize_target(
    engine: StorageEngine,
    target: MaintenanceTarget,
    audit: AuditTrail,
    *,
    dry_run: bool,
    rewrite: Rewrite = engine_optimize,
    before_write: Callable[[], None] = lambda: None,
) -> OptimizeOutcome:
    """Rewrite one table's files and prove its rows unchanged, as one `Optimize` audit step.

    The proof compares the version the rewrite committed with the one right before it, so a
    writer that appended meanwhile (metadata tables have no lease) is not taken for a change.
    """
    with audit.step(OperationType.Optimize, target.name) as step:
        current = engine.state(target.uri).version
        step.delta_version = current
        step.details = {"dry_run": dry_run, "zorder_columns": list(target.zorder_columns)}
        if dry_run:
            return OptimizeOutcome(target.name, True, AuditStatus.Succeeded,
                                   message=f"would rewrite version {current}")
        before_write()
        result = rewrite(engine, target.uri, target.zorder_columns)
        if result.version == current:
            step.details["rewritten"] = False
            return OptimizeOutcome(target.name, False, AuditStatus.Succeeded,
                                   message="nothing to compact")
        proof = prove(engine, target, result.version - 1, result.version)
        rewritten = engine.storage_delta(target.uri, result.version - 1, result.version)
        step.delta_version = result.version
        step.counts = {"files": result.files_removed, "bytes": rewritten.bytes_removed}
        step.details.update(proof.as_details(), files_added=result.files_added)
        outcome = OptimizeOutcome(
            target.name, False, AuditStatus.Succeeded, files_added=result.files_added,
            files_removed=result.files_removed, bytes_rewritten=rewritten.bytes_removed,
            proof=proof,
        )
        if proof.holds:
            return outcome
        return _undo(engine, target, audit, step, outcome, proof, before_write)


def _undo(
    engine: StorageEngine,
    target: MaintenanceTarget,
    audit: AuditTrail,
    step: AuditStep,
    outcome: OptimizeOutcome,
    proof: OptimizeProof,
    before_write: Callable[[], None],
) -> OptimizeOutcome:
    """Restore the version before a rewrite that changed data; Failed step, Critical alert.

    When someone committed after the rewrite (possible on a metadata table only), restoring
    would drop their commit too: the table is then left as it is and the alert says so.
    """
    detail = (f"optimize of {target.name} changed data: version {proof.version_before} has "
              f"fingerprint {proof.fingerprint_before:016x} ({proof.counts_before.total} rows), "
              f"version {proof.version_after} {proof.fingerprint_after:016x} "
              f"({proof.counts_after.total} rows)")
    restored: int | None = None
    if engine.state(target.uri).version == proof.version_after:
        before_write()
        engine.restore(target.uri, proof.version_before, compare_content=False, commit_metadata={
            f"{COMMIT_METADATA_PREFIX}run_id": audit.run_id,
            f"{COMMIT_METADATA_PREFIX}operation": "OptimizeProofFailed",
            f"{COMMIT_METADATA_PREFIX}reason": detail,
        })
        restored = proof.version_before
        action = f"; version {restored} was restored at once"
    else:
        action = ("; the table was written after the rewrite, so it was NOT restored: restore "
                  f"version {proof.version_before} by hand")
    message = detail + action
    step.status, step.error = AuditStatus.Failed, message
    step.details["restored_to"] = restored
    audit.alert("OptimizeChangedData", message, table=target.name,
                details=proof.as_details())
    return OptimizeOutcome(
        target.name, False, AuditStatus.Failed, files_added=outcome.files_added,
        files_removed=outcome.files_removed, bytes_rewritten=outcome.bytes_rewritten,
        proof=proof, restored_to=restored, message=message,
    )
