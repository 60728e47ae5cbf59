"""One rollback run: plan first, then apply only when the request allows it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from recovery_platform.domain.checkpoints.history import load_checkpoint
from recovery_platform.domain.lakehouse.audit import AuditStep, AuditTrail
from recovery_platform.domain.lakehouse.errors import (
    CheckpointSelectionError,
    InvalidInputError,
    TableLeaseError,
)
from recovery_platform.domain.lakehouse.lease import LeaseStore
from recovery_platform.domain.lakehouse.location import Lakehouse
from recovery_platform.domain.lakehouse.metadata_store import MetadataStore
from recovery_platform.domain.lakehouse.vocabulary import AuditStatus, OperationType
from recovery_platform.domain.rollback.apply import Log, apply_plan
from recovery_platform.domain.rollback.impact import RiskThresholds, RollbackPlan
from recovery_platform.domain.rollback.outcome import ApplyResult
from recovery_platform.domain.rollback.plan import make_plan, validate_checkpoint
from recovery_platform.domain.rollback.record import (
    PlanRefusedError,
    RecordedPlan,
    check_approval,
    load_recorded_plan,
)
from recovery_platform.domain.rollback.report import apply_instructions
from recovery_platform.domain.rollback.request import (
    RollbackRequest,
    SelectedCheckpoint,
    select_checkpoint,
)


@dataclass(frozen=True)
class RollbackOutcome:
    """What a rollback run did: a plan, and an apply result when it applied."""

    plan: RollbackPlan | None
    recorded: RecordedPlan | None
    applied: ApplyResult | None
    message: str

    @property
    def plan_id(self) -> str:
        """The plan this run made or applied."""
        if self.plan is not None:
            return self.plan.plan_id
        assert self.recorded is not None
        return self.recorded.plan_id


def run_rollback(
    lakehouse: Lakehouse,
    store: MetadataStore,
    leases: LeaseStore,
    audit: AuditTrail,
    request: RollbackRequest,
    *,
    log: Log,
    thresholds: RiskThresholds | None = None,
    lease_wait_seconds: float = 0.0,
) -> RollbackOutcome:
    """Plan (always) and apply (when asked and allowed); refusals raise before any restore."""
    store.ensure_tables(audit.run_id)
    if request.approved_plan_id:
        return _apply_approved(lakehouse, store, leases, audit, request, log, lease_wait_seconds)
    with refusals_audited(audit, stage="checkpoint selection"):
        selected = select_checkpoint(store, request)
    plan = make_plan(lakehouse, store, audit, request, selected, thresholds=thresholds)
    if not plan.ok:
        raise PlanRefusedError(
            "rollback refused before any table was touched: " + " | ".join(plan.refusals)
            + f". Recommended action: {plan.recommendation}"
        )
    if not request.applies:
        why = "dry_run is true" if request.dry_run else "approval is required"
        return RollbackOutcome(plan, None, None,
                               f"Plan {plan.plan_id} recorded; nothing was changed because "
                               f"{why}. {apply_instructions(plan)}")
    recorded = load_recorded_plan(store, plan.plan_id)
    with refusals_audited(audit, stage="apply", plan_id=plan.plan_id):
        result = apply_plan(lakehouse, store, leases, audit, recorded, selected.checkpoint,
                            log=log, lease_wait_seconds=lease_wait_seconds)
    return RollbackOutcome(plan, recorded, result, _summary(result))


def _apply_approved(
    lakehouse: Lakehouse,
    store: MetadataStore,
    leases: LeaseStore,
    audit: AuditTrail,
    request: RollbackRequest,
    log: Log,
    lease_wait_seconds: float,
) -> RollbackOutcome:
    assert request.approved_plan_id is not None and request.approved_by is not None
    with refusals_audited(audit, stage="approved plan", plan_id=request.approved_plan_id):
        recorded = load_recorded_plan(store, request.approved_plan_id)
        has_reference = request.checkpoint_id or request.checkpoint_name or request.restore_before
        selected = (select_checkpoint(store, request) if has_reference else
                    SelectedCheckpoint(load_checkpoint(store, recorded.checkpoint_id),
                                       f"approved plan {recorded.plan_id}"))
        if request.dry_run:
            raise PlanRefusedError(f"plan {recorded.plan_id} is approved but dry_run is true; "
                                   "set dry_run: false to apply it")
    target = selected.checkpoint
    scope = request.tables_scope or tuple(p.table for p in target.tables)
    with audit.step(OperationType.RollbackValidation) as step:
        step.checkpoint_id = target.checkpoint_id
        step.details = {"plan_id": recorded.plan_id, "approved_by": request.approved_by}
        try:
            check_approval(recorded, checkpoint_id=target.checkpoint_id, scope=scope,
                           approved_by=request.approved_by)
            refusals = validate_checkpoint(lakehouse, target, recorded.scope)
            if refusals:
                raise PlanRefusedError("checkpoint can no longer be restored: "
                                       + " | ".join(refusals))
        except Exception as exc:
            step.status, step.error = AuditStatus.Failed, str(exc)
            raise
    with refusals_audited(audit, stage="apply", plan_id=recorded.plan_id):
        result = apply_plan(lakehouse, store, leases, audit, recorded, target, log=log,
                            lease_wait_seconds=lease_wait_seconds)
    return RollbackOutcome(None, recorded, result, _summary(result))


REFUSALS = (InvalidInputError, CheckpointSelectionError, PlanRefusedError, TableLeaseError)
"""Errors that refuse a request before anything changed: each is audited once."""


def record_refusal(audit: AuditTrail, error: Exception, **details: object) -> None:
    """A failed `RollbackValidation` row for a refusal no step has audited yet."""
    step = AuditStep(OperationType.RollbackValidation)
    step.status, step.error = AuditStatus.Failed, str(error)
    step.details = {"refused": type(error).__name__, **details}
    audit.record(step)


@contextmanager
def refusals_audited(audit: AuditTrail, **details: object) -> Iterator[None]:
    """Audit a refusal raised inside the block (the runbook promises one row per refusal)."""
    try:
        yield
    except REFUSALS as error:
        record_refusal(audit, error, **details)
        raise


def _summary(result: ApplyResult) -> str:
    if result.succeeded:
        post = result.post_rollback
        return (f"Rollback {result.plan_id} applied and proven on "
                f"{len(result.outcomes)} tables; PostRollback checkpoint "
                f"{post.name if post else '-'}; undo with PreRollback checkpoint "
                f"{result.pre_rollback.name} ({result.pre_rollback.checkpoint_id}).")
    return (f"Rollback {result.plan_id} partially failed: "
            f"{', '.join(result.failed_tables)} did not restore or did not validate; the other "
            f"tables were restored. Undo with PreRollback checkpoint "
            f"{result.pre_rollback.checkpoint_id}.")
