"""`rollback_job`: plan, preview, approve and apply a rollback from the launchpad.

Field names are part of the interface (see docs/runbook_rollback.md).
"""

from collections.abc import Iterator
from enum import Enum
from typing import Any

import dagster as dg
from pydantic import Field

from recovery_platform.defs.checks import check_evaluations
from recovery_platform.defs.keys import WRITERS_POOL, bronze_key
from recovery_platform.defs.resources import LakehouseResource
from recovery_platform.domain.lakehouse.audit import Actor, AuditTrail
from recovery_platform.domain.lakehouse.errors import MetadataSchemaError
from recovery_platform.domain.rollback.impact import RiskThresholds
from recovery_platform.domain.rollback.outcome import ApplyResult, TableRestoreOutcome
from recovery_platform.domain.rollback.report import render_plan
from recovery_platform.domain.rollback.request import validate_request
from recovery_platform.domain.rollback.run import REFUSALS, refusals_audited, run_rollback
from recovery_platform.domain.sync.validation import Invariant


class RollbackCheckpointType(Enum):
    """Checkpoint types a rollback may target (names equal values for the launchpad)."""

    DailyBatch = "DailyBatch"
    PrePurge = "PrePurge"
    Manual = "Manual"
    PreRollback = "PreRollback"
    PostRollback = "PostRollback"


class RollbackConfig(dg.Config):
    """Launchpad fields of a rollback. Dry run and approval are the defaults."""

    checkpoint_name: str = Field(default="", description="Checkpoint to restore, by name.")
    checkpoint_id: str = Field(default="", description="Checkpoint to restore, by id.")
    restore_before: str = Field(
        default="", description="ISO timestamp (UTC if no offset): latest validated checkpoint "
        "of checkpoint_type created before it.")
    checkpoint_type: RollbackCheckpointType = Field(
        default=RollbackCheckpointType.DailyBatch, description="Type of the target checkpoint.")
    tables_scope: list[str] = Field(
        default_factory=list, description="Tables to roll back; empty: all of the checkpoint.")
    require_approval: bool = Field(default=True, description="Stop after the plan for approval.")
    dry_run: bool = Field(default=True, description="Plan only; change nothing.")
    reason: str = Field(default="", description="Why (audited).")
    requested_by: str = Field(description="Admin asking for the rollback (audited).")
    approved_plan_id: str = Field(default="", description="Recorded plan to apply.")
    approved_by: str = Field(default="", description="Admin approving; not the requester.")
    risk_medium_share: float = Field(default=0.01, description="Changed share for Medium risk.")
    risk_high_share: float = Field(default=0.10, description="Changed share for High risk.")


def _count(outcome: TableRestoreOutcome, name: str) -> int:
    """A proven count of the restored table; -1 when the proof could not read it."""
    metrics = {m.name: m.after for m in outcome.check.metrics} if outcome.check else {}
    return int(metrics[name]) if name in metrics else -1


def _materializations(result: ApplyResult, checkpoint_name: str) -> list[dg.AssetMaterialization]:
    return [
        dg.AssetMaterialization(
            asset_key=bronze_key(o.table),
            description=f"Rolled back to checkpoint {checkpoint_name}",
            metadata={
                "operation": "rollback", "plan_id": result.plan_id, "checkpoint": checkpoint_name,
                "version_before": o.version_before, "version": o.version_after,
                "restore_status": o.status,
                "total": _count(o, "total"),
                "active": _count(o, "active"),
                "deleted": _count(o, "deleted"),
                "purged": _count(o, "purged"),
                "validated": bool(o.check and o.check.passed),
            },
        )
        for o in result.outcomes
        if o.version_after is not None
    ]


def _checks(result: ApplyResult) -> list[dg.AssetCheckEvaluation]:
    """Each restored table's invariants, as the sync reports them, from the rollback's proof."""
    return [
        evaluation
        for o in result.outcomes
        if o.check is not None and o.check.validation is not None
        for evaluation in check_evaluations(
            o.check.validation, context=f"post-rollback proof of plan {result.plan_id}",
            warn_only=(Invariant.schema_as_declared.value,))
    ]


def _launch_tags(config: RollbackConfig) -> dict[str, str]:
    """Tags that let the Runs list be filtered by mode, checkpoint and requester."""
    applies = bool(config.approved_plan_id) or not (config.dry_run or config.require_approval)
    return {
        "rollback/mode": "apply" if applies else "plan",
        "rollback/checkpoint": (config.checkpoint_name or config.checkpoint_id
                                or config.restore_before or "-"),
        "rollback/requested_by": config.requested_by or "-",
        **({"rollback/plan_id": config.approved_plan_id} if config.approved_plan_id else {}),
    }


@dg.op(pool=WRITERS_POOL)
def rollback(
    context: dg.OpExecutionContext, config: RollbackConfig, lakehouse: LakehouseResource
) -> Iterator[dg.AssetMaterialization | dg.AssetCheckEvaluation | dg.Output[str]]:
    """Plan the rollback; apply it only with dry_run false and approval given or not required.

    Every refusal is audited (a failed `RollbackValidation` row) and fails the run with our
    message as the failure's description. The proof's invariants are reported as the restored
    tables' checks; a failed one is also a failed proof, which fails the run.
    """
    context.instance.add_run_tags(context.run.run_id, _launch_tags(config))
    house = lakehouse.lakehouse()
    store = lakehouse.metadata(house)
    try:  # audit rows need current metadata tables; a lakehouse newer than us is not written
        store.ensure_tables(context.run.run_id)
    except MetadataSchemaError as refused:
        raise dg.Failure(description=str(refused)) from refused
    audit = AuditTrail(store, context.run.run_id, Actor(
        requested_by=config.requested_by, approved_by=config.approved_by or None,
        reason=config.reason, dry_run=config.dry_run))
    try:
        with refusals_audited(audit, stage="request"):
            request = validate_request(
                house.config, checkpoint_name=config.checkpoint_name,
                checkpoint_id=config.checkpoint_id, restore_before=config.restore_before,
                checkpoint_type=config.checkpoint_type.value, tables_scope=config.tables_scope,
                require_approval=config.require_approval, dry_run=config.dry_run,
                reason=config.reason, requested_by=config.requested_by,
                approved_plan_id=config.approved_plan_id, approved_by=config.approved_by,
            )
            thresholds = RiskThresholds(config.risk_medium_share, config.risk_high_share)
        audit.actor = Actor(requested_by=request.requested_by, approved_by=request.approved_by,
                            reason=request.reason, dry_run=not request.applies)
        outcome = run_rollback(house, store, lakehouse.leases(house), audit, request,
                               log=context.log.info, thresholds=thresholds)
    except (*REFUSALS, MetadataSchemaError) as refused:
        raise dg.Failure(description=str(refused), metadata={
            "refused": type(refused).__name__, "requested_by": config.requested_by,
        }) from refused
    finally:
        audit.flush()
    context.instance.add_run_tags(context.run.run_id, {"rollback/plan_id": outcome.plan_id})
    context.log.info(outcome.message)
    metadata: dict[str, Any] = {"summary": outcome.message}
    if outcome.plan is not None:
        metadata["plan"] = dg.MetadataValue.md(render_plan(outcome.plan))
        metadata["plan_id"] = outcome.plan.plan_id
    if outcome.applied is not None:
        name = outcome.recorded.checkpoint_name if outcome.recorded else ""
        # yielded, not logged: events logged with context.log_event are dropped when the op
        # then raises, and a partially failed rollback must still show what it restored
        yield from _materializations(outcome.applied, name)
        yield from _checks(outcome.applied)
        if not outcome.applied.succeeded:
            raise dg.Failure(description=outcome.message, metadata={
                "failed_tables": dg.MetadataValue.json(list(outcome.applied.failed_tables))})
    yield dg.Output(outcome.plan_id, metadata=metadata)


@dg.job(description="Roll bronze tables back to a checkpoint: plan, preview, approve, apply.")
def rollback_job() -> None:
    """CR-002: manual rollback to a checkpoint."""
    rollback()
