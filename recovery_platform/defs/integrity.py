"""The weekly checkpoint integrity proof: `reports/checkpoint_integrity`, its job and schedule.

A checkpoint that can no longer be restored must be found on a Sunday morning, not when
someone plans a rollback to it at 3 a.m. The asset's materialization counts what was proven;
its check fails (ERROR) while any active checkpoint is unrestorable.
"""


import dagster as dg
from pydantic import Field

from recovery_platform.defs.keys import INTEGRITY_REPORT_KEY
from recovery_platform.defs.resources import LakehouseResource
from recovery_platform.domain.checkpoints.integrity import check_integrity
from recovery_platform.domain.lakehouse.audit import Actor, AuditTrail
from recovery_platform.domain.lakehouse.errors import MetadataSchemaError
from recovery_platform.domain.lakehouse.table_config import PlatformConfig

ALL_RESTORABLE = "all_checkpoints_restorable"


class IntegrityConfig(dg.Config):
    """Launchpad fields of an integrity check."""

    deep: bool = Field(default=True, description="Also recompute every pinned fingerprint.")
    checkpoint_ids: list[str] = Field(
        default_factory=list, description="Checkpoints to check; empty: every active one.")
    requested_by: str = Field(default="", description="Who launched it (audited).")


@dg.asset(
    key=INTEGRITY_REPORT_KEY,
    group_name="reports",
    kinds={"delta"},
    check_specs=[dg.AssetCheckSpec(ALL_RESTORABLE, asset=INTEGRITY_REPORT_KEY,
                                   description="Every active checkpoint is still restorable.")],
    description="The last integrity proof of every active checkpoint: log, files, table id, "
    "counts and (deep) fingerprints recomputed at each pinned version.",
)
def checkpoint_integrity_report(
    context: dg.AssetExecutionContext, config: IntegrityConfig, lakehouse: LakehouseResource
) -> dg.MaterializeResult:
    """Prove every active checkpoint restorable; mark and alert those that are not."""
    house = lakehouse.lakehouse()
    store = lakehouse.metadata(house)
    audit = AuditTrail(store, context.run.run_id, Actor(requested_by=config.requested_by or None))
    try:
        store.ensure_tables(context.run.run_id)
        outcome = check_integrity(house, store, audit, deep=config.deep,
                                  checkpoint_ids=config.checkpoint_ids or None)
    except MetadataSchemaError as refused:
        raise dg.Failure(description=str(refused)) from refused
    finally:
        audit.flush()
    unrestorable = dict(zip(outcome.unrestorable, outcome.unrestorable_names, strict=True))
    return dg.MaterializeResult(
        metadata={
            "mode": outcome.mode,
            "checkpoints_checked": outcome.checkpoints_checked,
            "checkpoints_verified": len(outcome.verified),
            "checkpoints_unrestorable": len(unrestorable),
            "checkpoints_inconclusive": len(outcome.inconclusive),
            "tables_checked": outcome.tables_checked,
            "seconds": round(outcome.seconds, 3),
        },
        check_results=[dg.AssetCheckResult(
            check_name=ALL_RESTORABLE, passed=not unrestorable,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={"unrestorable": dg.MetadataValue.json(unrestorable)},
        )],
    )


checkpoint_integrity_job = dg.define_asset_job(
    "checkpoint_integrity_job",
    selection=dg.AssetSelection.assets(INTEGRITY_REPORT_KEY),
    description="Prove every active checkpoint still restorable (read-only on bronze tables).",
)


def integrity_schedule(config: PlatformConfig) -> dg.ScheduleDefinition:
    """`checkpoint_integrity_schedule`: weekly, deep unless configured otherwise."""
    when = config.schedules["checkpoint_integrity"]
    return dg.ScheduleDefinition(
        name="checkpoint_integrity_schedule",
        job=checkpoint_integrity_job,
        cron_schedule=when.cron,
        execution_timezone=when.timezone,
        run_config={"ops": {"reports__checkpoint_integrity": {"config": {
            "deep": config.maintenance.integrity_deep,
            "requested_by": "checkpoint_integrity_schedule"}}}},
        description=f"Weekly checkpoint integrity proof ({when.cron}, {when.timezone}).",
    )
