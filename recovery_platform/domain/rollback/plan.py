"""Planning a rollback: validate the checkpoint, measure the impact, warn about dependencies.

A plan is always made first, recorded and audited (dry runs included). It captures each table's
current version so that applying it later can prove nothing changed in between.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from dataclasses import replace
from datetime import date, timedelta

from recovery_platform.domain.checkpoints.history import (
    Checkpoint,
    PinKey,
    PinnedTable,
    counts_at,
    recorded_pins,
)
from recovery_platform.domain.lakehouse.audit import AuditTrail, utc_now
from recovery_platform.domain.lakehouse.location import Lakehouse
from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable
from recovery_platform.domain.lakehouse.metadata_store import MetadataStore
from recovery_platform.domain.lakehouse.parallelism import map_tables
from recovery_platform.domain.lakehouse.vocabulary import (
    AuditStatus,
    IntegrityStatus,
    OperationType,
    ValidationStatus,
)
from recovery_platform.domain.rollback.impact import (
    DependencyWarning,
    RiskThresholds,
    RollbackPlan,
    TableImpact,
)
from recovery_platform.domain.rollback.recommendation import recommend
from recovery_platform.domain.rollback.report import plan_json, render_plan
from recovery_platform.domain.rollback.request import RollbackRequest, SelectedCheckpoint
from recovery_platform.domain.sync.validation import proven_unique
from recovery_platform.engine import DuplicateKeysError, EngineError

DEFAULT_PLAN_TTL = timedelta(hours=24)
DUPLICATE_KEYS_ACTION = (
    "per-key impact cannot be measured on a version holding duplicate keys: remove the extra "
    "rows of the current version (or choose a checkpoint whose version has none), then plan again"
)


def lifecycle_refusals(checkpoint: Checkpoint, today: date) -> list[str]:
    """Refusals read from the checkpoint's own record: expired, not validated, unrestorable."""
    problems: list[str] = []
    if not checkpoint.is_active:
        problems.append(f"checkpoint {checkpoint.name} is inactive (expired on "
                        f"{checkpoint.retention_date})")
    elif checkpoint.expired(today):
        problems.append(f"checkpoint {checkpoint.name} expired on {checkpoint.retention_date} "
                        "(its RetentionDate has passed; retention enforcement has not "
                        "deactivated it yet)")
    if checkpoint.status is not ValidationStatus.Validated:
        problems.append(f"checkpoint {checkpoint.name} is {checkpoint.status.value}, not "
                        f"Validated: {checkpoint.notes or 'no reason recorded'}")
    if checkpoint.integrity_status is IntegrityStatus.Unrestorable:
        checked = checkpoint.integrity_checked_at
        when = f" on {checked:%Y-%m-%d %H:%M} UTC" if checked else ""
        problems.append(f"checkpoint {checkpoint.name} was found Unrestorable by the integrity "
                        f"check{when}: {checkpoint.integrity_notes or 'no reason recorded'}")
    return problems


def validate_checkpoint(
    lakehouse: Lakehouse,
    checkpoint: Checkpoint,
    scope: tuple[str, ...],
    *,
    today: date | None = None,
) -> list[str]:
    """Reasons the checkpoint cannot be a rollback target for `scope`; empty when it can.

    `today` (UTC, by default now) decides expiry: a checkpoint past its RetentionDate is
    refused even while it is still active, because retention enforcement runs only weekly
    and nothing keeps its history once the retention rule may lower the table's retention.
    """
    problems = lifecycle_refusals(checkpoint, today or utc_now().date())
    pinned = {p.table for p in checkpoint.tables}

    def problem(table: str) -> str | None:
        if table not in pinned:
            return (f"table {table} is not pinned by checkpoint {checkpoint.name} "
                    f"(it pins: {', '.join(sorted(pinned))})")
        pin = checkpoint.pin(table)
        try:
            check = lakehouse.engine.is_restorable(lakehouse.bronze_uri(table), pin.version,
                                                   pin.table_id)
        except EngineError as exc:
            return f"table {table}: {exc}"
        if not check.restorable:
            return f"table {table} cannot be restored to version {pin.version}: {check.reason}"
        return None

    problems.extend(p for p in map_tables(lakehouse.engine, scope, problem) if p is not None)
    return problems


def measure_impact(
    lakehouse: Lakehouse,
    checkpoint: Checkpoint,
    table: str,
    thresholds: RiskThresholds,
    known: Mapping[PinKey, PinnedTable] | None = None,
    proven: Collection[tuple[str, int]] = (),
) -> TableImpact:
    """Counts, key-level changes and storage effect of restoring one table.

    The current version's counts come from a pin some checkpoint recorded for it (a daily sync
    pins every version it writes) when there is one; otherwise they are counted. `proven` are
    (table, version) pairs a recorded validation found free of repeated keys: those of the two
    versions pinned under the table's current id spare the key diff its check.
    """
    engine = lakehouse.engine
    uri = lakehouse.bronze_uri(table)
    shape = lakehouse.config.table(table).shape
    pin = checkpoint.pin(table)
    state = engine.state(uri)
    current = state.version
    counts = counts_at(lakehouse, table, state, known)
    unique = [v for v in (current, pin.version)
              if (table, v) in proven and (table, v, state.table_id) in (known or {})]
    diff = engine.key_diff(uri, shape, current, pin.version, unique_versions=unique)
    storage = engine.storage_delta(uri, current, pin.version)
    changed = diff.added + diff.removed + diff.changed
    return TableImpact(
        table=table, current_version=current, target_version=pin.version, current=counts,
        target=pin.counts, diff=diff, storage=storage,
        risk=thresholds.assess(changed, max(counts.total, pin.counts.total)),
    )


def dependency_warnings(
    lakehouse: Lakehouse, impacts: tuple[TableImpact, ...]
) -> tuple[DependencyWarning, ...]:
    """Orphans a partial scope would create across declared relations."""
    engine = lakehouse.engine
    config = lakehouse.config
    by_table = {i.table: i for i in impacts}
    found = []
    for child, spec in config.tables.items():
        for rel in spec.relations:
            if (child in by_table) == (rel.references in by_table):
                continue
            child_uri = lakehouse.bronze_uri(child)
            parent_uri = lakehouse.bronze_uri(rel.references)
            if not (engine.table_exists(child_uri) and engine.table_exists(parent_uri)):
                continue
            child_version = (by_table[child].target_version if child in by_table
                             else engine.state(child_uri).version)
            parent_version = (by_table[rel.references].target_version
                              if rel.references in by_table else engine.state(parent_uri).version)
            orphans = engine.orphan_count(
                child_uri, rel.column, parent_uri, config.table(rel.references).primary_key,
                child_version=child_version, parent_version=parent_version,
            )
            if orphans.count:
                found.append(DependencyWarning(child, rel.column, rel.references, orphans.count,
                                               orphans.sample_keys))
    return tuple(found)


def make_plan(
    lakehouse: Lakehouse,
    store: MetadataStore,
    audit: AuditTrail,
    request: RollbackRequest,
    selected: SelectedCheckpoint,
    *,
    thresholds: RiskThresholds | None = None,
    ttl: timedelta = DEFAULT_PLAN_TTL,
) -> RollbackPlan:
    """Validate, analyse and record a plan; a refused plan is recorded too."""
    thresholds = thresholds or RiskThresholds()
    checkpoint = selected.checkpoint
    scope = request.tables_scope or tuple(p.table for p in checkpoint.tables)
    created = utc_now()
    base = RollbackPlan(plan_id=str(uuid.uuid4()), created_at=created, expires_at=created + ttl,
                        request=request, checkpoint=checkpoint, selection=selected.why,
                        thresholds=thresholds)
    with audit.step(OperationType.RollbackValidation) as step:
        step.checkpoint_id = checkpoint.checkpoint_id
        refusals = validate_checkpoint(lakehouse, checkpoint, scope, today=created.date())
        step.details = {"plan_id": base.plan_id, "tables": list(scope), "refusals": refusals,
                        "selection": selected.why}
        if refusals:
            step.status, step.error = AuditStatus.Failed, " | ".join(refusals)
    if refusals:
        plan = replace(base, refusals=tuple(refusals),
                        recommendation=recommend(lakehouse, store, checkpoint, scope,
                                                   today=created.date()))
        record_plan(store, plan, status="Refused", run_id=audit.run_id)
        return plan
    try:
        with audit.step(OperationType.RollbackImpactAnalysis) as step:
            step.checkpoint_id = checkpoint.checkpoint_id
            known = recorded_pins(store, scope)
            proven = proven_unique(store, scope)
            impacts = tuple(map_tables(
                lakehouse.engine, scope,
                lambda table: measure_impact(lakehouse, checkpoint, table, thresholds, known,
                                             proven),
            ))
            warnings = dependency_warnings(lakehouse, impacts)
            plan = replace(base, tables=impacts, warnings=warnings)
            step.details = {
                "plan_id": plan.plan_id,
                "tables": {i.table: {"from": i.current_version, "to": i.target_version,
                                     "added": i.diff.added, "removed": i.diff.removed,
                                     "changed": i.diff.changed, "risk": i.risk} for i in impacts},
                "warnings": [w.message for w in warnings],
                "estimated_seconds": plan.estimated_seconds,
            }
            step.counts = {"read": sum(i.rows_changed for i in impacts)}
            if warnings:
                step.status = AuditStatus.Warning
    except DuplicateKeysError as duplicates:  # the impact step audited it as Failed
        plan = replace(base, refusals=(str(duplicates),), recommendation=DUPLICATE_KEYS_ACTION)
        record_plan(store, plan, status="Refused", run_id=audit.run_id)
        return plan
    record_plan(store, plan, status="Planned", run_id=audit.run_id)
    return plan


def record_plan(store: MetadataStore, plan: RollbackPlan, *, status: str, run_id: str) -> None:
    """Write the plan row and its per-table intent rows (one commit each)."""
    request = plan.request
    store.append(MetadataTable.RollbackPlanTables, [
        {"PlanTableKey": f"{plan.plan_id}:{t.table}", "PlanId": plan.plan_id,
         "TableName": t.table, "CurrentVersion": t.current_version,
         "TargetVersion": t.target_version, "RowsChanged": t.rows_changed,
         "IntentStatus": "pending",
         "UpdatedAt": plan.created_at}
        for t in plan.tables
    ])
    store.append(MetadataTable.RollbackPlans, [{
        "PlanId": plan.plan_id,
        "PipelineRunId": run_id,
        "CreatedAt": plan.created_at,
        "ExpiresAt": plan.expires_at,
        "CheckpointId": plan.checkpoint.checkpoint_id,
        "CheckpointName": plan.checkpoint.name,
        "TablesJson": plan_json({"tables": list(plan.scope or request.tables_scope or ())}),
        "RequestedBy": request.requested_by,
        "Reason": request.reason,
        "DryRun": request.dry_run,
        "Status": status,
        "PlanJson": plan_json(plan),
        "PlanMarkdown": render_plan(plan),
    }])
