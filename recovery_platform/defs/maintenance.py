"""Weekly maintenance: the `reports/maintenance` asset, `maintenance_job` and its schedule.

The asset's materialization is the run's summary, so the UI plots files removed, bytes
reclaimed and failures week over week. Launched by hand it is a dry run unless told otherwise;
the schedule runs it for real. Field names are part of the interface
(docs/runbook_maintenance.md).
"""


from enum import Enum

import dagster as dg
from pydantic import Field

from recovery_platform.defs.keys import MAINTENANCE_REPORT_KEY, WRITERS_POOL
from recovery_platform.defs.resources import LakehouseResource
from recovery_platform.domain.lakehouse.audit import Actor, AuditTrail, utc_now
from recovery_platform.domain.lakehouse.errors import InvalidInputError, MetadataSchemaError
from recovery_platform.domain.lakehouse.table_config import PlatformConfig
from recovery_platform.domain.maintenance.request import MaintenanceRequest
from recovery_platform.domain.maintenance.run import run_maintenance


class MaintenanceOperation(Enum):
    """The launchpad's choice of operations (the domain's OPERATIONS; a test keeps them equal)."""

    vacuum = "vacuum"
    optimize = "optimize"
    retention = "retention"
    metadata = "metadata"


class MaintenanceConfig(dg.Config):
    """Launchpad fields of a maintenance run. By hand, a dry run is the default."""

    dry_run: bool = Field(default=True, description="Report what would happen; change nothing.")
    tables: list[str] = Field(
        default_factory=list, description="Bronze tables; empty: every table with vacuum or "
        "optimize enabled.")
    operations: list[MaintenanceOperation] = Field(
        default_factory=list, description="vacuum, optimize, retention, metadata; empty: all.")
    reason: str = Field(default="", description="Why (audited).")
    requested_by: str = Field(default="", description="Who launched it (audited).")


NO_FAILED_TABLES = "no_failed_tables"


@dg.asset(
    key=MAINTENANCE_REPORT_KEY,
    group_name="reports",
    pool=WRITERS_POOL,
    kinds={"delta"},
    check_specs=[dg.AssetCheckSpec(NO_FAILED_TABLES, asset=MAINTENANCE_REPORT_KEY,
                                   description="Every selected table was maintained or "
                                   "deliberately skipped; none failed.")],
    description="The last maintenance run: tables vacuumed and optimized, files and bytes "
    "reclaimed, checkpoints expired, failures.",
)
def maintenance_report(
    context: dg.AssetExecutionContext, config: MaintenanceConfig, lakehouse: LakehouseResource
) -> dg.MaterializeResult:
    """Run VACUUM / OPTIMIZE / checkpoint expiry and report; failed tables fail the check."""
    house = lakehouse.lakehouse()
    store = lakehouse.metadata(house)
    audit = AuditTrail(store, context.run.run_id, Actor(
        requested_by=config.requested_by or None, reason=config.reason or None,
        dry_run=config.dry_run))
    try:
        request = MaintenanceRequest.of(
            house.config, tables=config.tables,
            operations=[o.value for o in config.operations] or None, dry_run=config.dry_run,
            reason=config.reason or None, requested_by=config.requested_by or None)
        summary = run_maintenance(
            house, store, audit, request, now=utc_now(), leases=lakehouse.leases(house),
            lease_wait_seconds=house.config.maintenance.lease_wait_minutes * 60.0)
    except (InvalidInputError, MetadataSchemaError) as refused:
        raise dg.Failure(description=str(refused)) from refused
    failures = summary.failures
    context.log.info(
        f"{'dry run: ' if summary.dry_run else ''}{len(summary.successes)} table(s) maintained, "
        f"{len(failures)} failed, {len(summary.skipped)} skipped; {summary.files_removed} "
        f"file(s), {summary.bytes_reclaimed} bytes reclaimed")
    return dg.MaterializeResult(
        metadata={**summary.as_metadata(), "report": dg.MetadataValue.md(summary.markdown())},
        check_results=[dg.AssetCheckResult(
            check_name=NO_FAILED_TABLES, passed=not failures,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={"failed": dg.MetadataValue.json(failures),
                      "skipped": dg.MetadataValue.json(summary.skipped)},
        )],
    )


maintenance_job = dg.define_asset_job(
    "maintenance_job",
    selection=dg.AssetSelection.assets(MAINTENANCE_REPORT_KEY),
    description="VACUUM and OPTIMIZE every enabled table without breaking a restore point, "
    "expire checkpoints, maintain the metadata tables. Dry run by default.",
)


def maintenance_schedule(config: PlatformConfig) -> dg.ScheduleDefinition:
    """`weekly_maintenance_schedule`: a real run (not a dry run) at the configured time."""
    when = config.schedules["weekly_maintenance"]
    return dg.ScheduleDefinition(
        name="weekly_maintenance_schedule",
        job=maintenance_job,
        cron_schedule=when.cron,
        execution_timezone=when.timezone,
        run_config={"ops": {"reports__maintenance": {"config": {
            "dry_run": False, "requested_by": "weekly_maintenance_schedule",
            "reason": "weekly maintenance"}}}},
        description=f"Weekly maintenance ({when.cron}, {when.timezone}); waits for tables the "
        "daily sync is still writing.",
    )
