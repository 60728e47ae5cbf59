"""The daily sync: bronze assets, their blocking invariant checks, the job and its schedule.

Built by a factory from the table configuration: one `["bronze", <table>]` asset per declared
table, all computed by one multi-asset so a 50-table sync is one step (no per-step process cost),
and the DailyBatch checkpoint (`defs/checkpoints.py`) is recorded even when a table is held or
fails a blocking check.
"""


from collections.abc import Iterator
from collections.abc import Set as AbstractSet
from datetime import UTC, date, datetime
from typing import Any

import dagster as dg
from pydantic import Field

from recovery_platform.defs.checkpoints import batch_checkpoint_spec, batch_result
from recovery_platform.defs.checks import (
    CHECKPOINT_CHECK,
    check_results,
    check_specs,
    checkpoint_result,
)
from recovery_platform.defs.freshness import bronze_freshness_policy
from recovery_platform.defs.keys import BATCH_KEY, WRITERS_POOL, bronze_key, source_key
from recovery_platform.defs.resources import LakehouseResource, SourceResource
from recovery_platform.domain.lakehouse.audit import Actor, AuditTrail
from recovery_platform.domain.lakehouse.errors import InvalidInputError
from recovery_platform.domain.lakehouse.location import Lakehouse
from recovery_platform.domain.lakehouse.table_config import PlatformConfig
from recovery_platform.domain.purge.record import parse_date
from recovery_platform.domain.sync.current_state import pinned_versions, validate_current
from recovery_platform.domain.sync.daily import (
    DailySyncRun,
    TableOutcome,
    run_daily_sync,
)
from recovery_platform.domain.sync.table import SyncOverride, SyncStatus


class SyncOverrideConfig(dg.Config):
    """Release a table held by the mass-deletion guard: audited with who and why."""

    table: str
    reason: str
    approved_by: str


class DailySyncConfig(dg.Config):
    """Launchpad fields of the daily sync."""

    sync_date: str = Field(
        default="", description="Extract date to sync (YYYY-MM-DD, UTC). Empty: today (UTC)."
    )
    requested_by: str = Field(default="scheduler", description="Who launched the sync.")
    overrides: list[SyncOverrideConfig] = Field(
        default_factory=list, description="Held tables to release, each with reason and approver."
    )


def _overrides(config: DailySyncConfig, platform: PlatformConfig) -> list[SyncOverride]:
    found = []
    for item in config.overrides:
        table = platform.validate_table_name(item.table, field_name="overrides.table")
        if not item.reason.strip():
            raise InvalidInputError("overrides.reason", "say why the deletions are real")
        if not item.approved_by.strip():
            raise InvalidInputError("overrides.approved_by", "name who approved the release")
        found.append(SyncOverride(table, item.reason.strip(), item.approved_by.strip()))
    return found


def _sync_date(config: DailySyncConfig) -> date:
    if not config.sync_date:
        return datetime.now(UTC).date()
    return parse_date(config.sync_date, "sync_date")


def source_specs(platform: PlatformConfig) -> list[dg.AssetSpec]:
    """External assets standing for each table's landed extracts, for lineage."""
    return [
        dg.AssetSpec(source_key(t), description=f"Daily full extracts of {t} from the CRM.",
                     group_name="source", kinds={"parquet"})
        for t in platform.table_names
    ]


def build_bronze_assets(platform: PlatformConfig) -> dg.AssetsDefinition:
    """The multi-asset syncing every declared bronze table, then the batch checkpoint.

    Each bronze table carries the freshness policy `bronze_stale_sensor` alerts on.
    """
    freshness = bronze_freshness_policy(platform)
    specs = [
        dg.AssetSpec(bronze_key(t), deps=[source_key(t)], group_name="bronze",
                     kinds={"delta"}, skippable=True, freshness_policy=freshness,
                     description=f"Bronze {t}: synced daily from the CRM, tracked deletions.")
        for t in platform.table_names
    ]
    specs.append(batch_checkpoint_spec(platform))

    @dg.multi_asset(name="daily_sync", specs=specs, check_specs=check_specs(platform),
                    can_subset=True, pool=WRITERS_POOL)
    def daily_sync(
        context: dg.AssetExecutionContext,
        config: DailySyncConfig,
        lakehouse: LakehouseResource,
        source: SourceResource,
    ) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
        house = lakehouse.lakehouse()
        tables = [t for t in platform.table_names if bronze_key(t) in context.selected_asset_keys]
        if not tables:
            # checks alone ("Execute" on a checks page) are read-only: no extract, no write
            if BATCH_KEY in context.selected_asset_keys:
                raise dg.Failure(description=BATCH_ALONE)
            yield from _checks_only(lakehouse, house, context.selected_asset_check_keys)
            return
        run = DailySyncRun(
            lakehouse=house, store=lakehouse.metadata(house),
            source=source.connector(house.config), leases=lakehouse.leases(house),
            sync_date=_sync_date(config), run_id=context.run.run_id, tables=tables,
            overrides=_overrides(config, house.config),
            maintenance_wait_seconds=house.config.maintenance.lease_wait_minutes * 60.0,
        )
        audit = AuditTrail(run.store, context.run.run_id, Actor(requested_by=config.requested_by))
        failed: list[str] = []
        for outcome in run_daily_sync(run, audit):
            if isinstance(outcome, TableOutcome):
                context.log.info(f"{outcome.table}: {outcome.sync.status.value}"
                                 + (f" ({outcome.problem})" if outcome.problem else ""))
                if not outcome.ok and not _checkpoint_only(outcome):
                    failed.append(f"{outcome.table}: {outcome.problem}")
                result = _table_result(outcome)
                if result is not None:
                    yield result
            elif BATCH_KEY in context.selected_asset_keys:
                yield batch_result(outcome)
        if failed:
            raise dg.Failure(
                description="daily sync did not fully succeed: " + " | ".join(failed),
                metadata={"tables": dg.MetadataValue.json(failed)},
            )

    return daily_sync


def _table_result(outcome: TableOutcome) -> dg.MaterializeResult | None:
    """Materialization with plottable numbers; none for a held or failed table (not written)."""
    if outcome.sync.status in (SyncStatus.Held, SyncStatus.Failed) or outcome.validation is None:
        return None
    validation = outcome.validation
    counts = validation.counts
    classification = outcome.sync.classification
    metadata: dict[str, Any] = {
        "total": counts.total, "active": counts.active, "deleted": counts.deleted,
        "purged": counts.purged, "version": validation.version,
        "duration_seconds": round(outcome.seconds, 3), "status": outcome.sync.status.value,
    }
    if classification is not None:
        metadata.update({
            "inserted": classification.inserted, "updated": classification.updated,
            "newly_deleted": classification.deleted, "newly_purged": classification.purged,
            "reactivated": classification.reactivated,
        })
    if outcome.checkpoint is not None:
        metadata["checkpoint_id"] = outcome.checkpoint.checkpoint_id
    checks = check_results(validation)
    if validation.passed:  # a table that failed validation is not checkpointed, by design
        checks.append(checkpoint_result(
            outcome.table, passed=outcome.checkpoint is not None,
            checkpoint_id=outcome.checkpoint.checkpoint_id if outcome.checkpoint else "",
            problem=outcome.problem or "",
        ))
    return dg.MaterializeResult(asset_key=bronze_key(outcome.table), metadata=metadata,
                                check_results=checks)


def _sync_request(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    """Sync the extract dated the scheduled day (in UTC), once per day (run key)."""
    day = context.scheduled_execution_time.astimezone(UTC).date().isoformat()
    return dg.RunRequest(
        run_key=f"daily_sync_{day}",
        run_config={"ops": {"daily_sync": {"config": {
            "sync_date": day, "requested_by": "daily_sync_schedule"}}}},
        tags={"sync_date": day},
    )


def sync_schedule(config: PlatformConfig) -> dg.ScheduleDefinition:
    """`daily_sync_schedule` at the configured time (the seed's 02:00 UTC by default)."""
    when = config.schedules["daily_sync"]
    return dg.ScheduleDefinition(
        name="daily_sync_schedule",
        job_name="daily_sync_job",
        cron_schedule=when.cron,
        execution_timezone=when.timezone,
        execution_fn=_sync_request,
        description=f"Daily ({when.cron}, {when.timezone}), after the CRM export lands; syncs "
        "that day's extracts.",
    )


daily_sync_schedule = sync_schedule(PlatformConfig(tables={}))
"""The schedule at the default time, for tests and scripts that do not load a configuration."""


BATCH_ALONE = ("the DailyBatch checkpoint is taken by the daily sync of its tables and cannot be "
               "materialized alone: launch daily_sync_job (or select the bronze tables too); to "
               "pin the tables as they are now, use manual_checkpoint_job")


def _checkpoint_only(outcome: TableOutcome) -> bool:
    """Synced and validated, only the Daily checkpoint failed: a warning, not a failed run."""
    return (outcome.validation is not None and outcome.validation.passed
            and outcome.sync.status in (SyncStatus.Synced, SyncStatus.Unchanged)
            and outcome.checkpoint is None)


def _checks_only(
    lakehouse: LakehouseResource, house: Lakehouse, selected: AbstractSet[dg.AssetCheckKey]
) -> Iterator[dg.AssetCheckResult]:
    """Evaluate the selected checks on each table's current version; nothing is written."""
    wanted: dict[str, set[str]] = {}
    for key in selected:
        wanted.setdefault(key.asset_key.path[-1], set()).add(key.name)
    tables = [t for t in house.config.table_names if t in wanted]
    validations, never_synced = validate_current(house, tables)
    pinned = pinned_versions(lakehouse.metadata(house), tables)
    for validation in validations:
        yield from check_results(validation, only=wanted[validation.table])
        if CHECKPOINT_CHECK in wanted[validation.table]:
            at = (validation.table, validation.version)
            yield checkpoint_result(validation.table, passed=at in pinned,
                                    version=validation.version, checkpoint_id=pinned.get(at, ""))
    for table in never_synced:
        for name in sorted(wanted[table]):
            yield dg.AssetCheckResult(
                asset_key=bronze_key(table), check_name=name, passed=False,
                metadata={"actual": f"bronze table {table} has not been synced yet"},
            )
