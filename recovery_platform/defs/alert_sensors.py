"""The sensors that raise alert rows from what Dagster saw, and the one that delivers them.

All run on the daemon and start RUNNING: an alert nobody enabled is an alert nobody gets. Each
trigger writes rows through `AuditTrail` (kind, table, details) like every other producer, so
delivery, deduplication and batching treat them all alike; the rows are the state, a sensor's
cursor only saves re-reading.
"""

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import dagster as dg

from recovery_platform.defs.alerts import (
    Alert,
    NotifierResource,
    deliver,
    has_alerts,
    raise_alert,
)
from recovery_platform.defs.freshness import bronze_freshness_policy, missed_deadline
from recovery_platform.defs.keys import bronze_key
from recovery_platform.defs.resources import LakehouseResource
from recovery_platform.domain.alerting.messages import truncate
from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable
from recovery_platform.domain.lakehouse.table_config import PlatformConfig
from recovery_platform.domain.sync.validation import Invariant

RUNNING = dg.DefaultSensorStatus.RUNNING
FIRST_LOOK_BACK = timedelta(hours=24)
"""A check sensor with no cursor yet reports the last day's failures, not all of history."""
RUN_BATCH = 200
RUN_ENDS = (dg.DagsterEventType.RUN_SUCCESS, dg.DagsterEventType.RUN_FAILURE,
            dg.DagsterEventType.RUN_CANCELED)
SYNC_JOB = "daily_sync_job"
BLOCKING = frozenset(inv.value for inv in Invariant)
"""The blocking checks of every bronze table (`defs/checks.py`)."""


@dg.sensor(name="alert_delivery_sensor", minimum_interval_seconds=30, default_status=RUNNING,
           description="Sends undelivered alert rows (grouped per run, repeats suppressed) "
           "through the configured notifiers and records the outcome on the rows.")
def alert_delivery_sensor(
    context: dg.SensorEvaluationContext, lakehouse: LakehouseResource, notifier: NotifierResource
) -> dg.SkipReason:
    """Deliver what is due; it never requests a run, its SkipReason says what it did.

    Notifier failures are recorded on the rows (retried with backoff), never raised, so the
    tick succeeds; only a failing metadata write fails it, and the next tick resends.
    """
    delivery = deliver(context.instance, lakehouse, notifier, cursor=context.cursor)
    if delivery.report.cursor:
        context.update_cursor(delivery.report.cursor)
    if delivery.problems:
        context.log.error("; ".join(delivery.problems))
    return dg.SkipReason(delivery.describe())


def _error_lines(error: Any) -> list[str]:
    """An error and its causes, one message each (a `dg.Failure`'s description included)."""
    lines = []
    while error is not None:
        lines.append(str(error.message).strip())
        error = error.cause
    return lines


def _failure(context: dg.RunFailureSensorContext) -> tuple[str, dict[str, Any]]:
    """The run's failure in one paragraph, and its details (steps, errors, truncated stack)."""
    run = context.dagster_run
    steps: dict[str, list[str]] = {}
    stack = ""
    for event in context.get_step_failure_events():
        error = event.step_failure_data.error
        steps[str(event.step_key)] = _error_lines(error)
        stack = stack or ("".join(error.stack) if error is not None else "")
    run_error = getattr(context.failure_event.event_specific_data, "error", None)
    reason = (context.failure_event.message or "").strip()
    first = next((lines[0] for lines in steps.values() if lines), None)
    first = first or (_error_lines(run_error)[0] if run_error is not None else reason)
    message = f"Run {run.run_id} of {run.job_name} failed: {first}"
    details = {"job": run.job_name, "failure": reason, "steps": steps,
               "stack": truncate(stack) if stack else None,
               "tags": {k: v for k, v in run.tags.items() if not k.startswith(".dagster")}}
    return truncate(message, 2000), details


@dg.run_failure_sensor(name="run_failure_alert_sensor", default_status=RUNNING,
                       description="Any failed run of this code location's jobs: a RunFailed "
                       "alert row with the failure, then delivery at once.")
def run_failure_alert_sensor(
    context: dg.RunFailureSensorContext, lakehouse: LakehouseResource, notifier: NotifierResource
) -> None:
    """One `RunFailed` row per failed run, then delivery, so latency is one sensor tick.

    Dagster's cursor normally shows each failure once; the row check makes a re-evaluation
    (a crash before the cursor moved) write nothing twice. The row is written before sending:
    a delivery that fails leaves it for `alert_delivery_sensor`.
    """
    run = context.dagster_run
    house = lakehouse.metadata_lakehouse()
    if has_alerts(house) and lakehouse.metadata(house).rows(
            MetadataTable.Alerts, equals={"PipelineRunId": run.run_id, "AlertType": "RunFailed"}):
        context.log.info(f"run {run.run_id}: RunFailed alert already written")
        return
    message, details = _failure(context)
    raise_alert(lakehouse, house, run.run_id, [("RunFailed", message, None, details)],
                job_name=run.job_name, requested_by="run_failure_alert_sensor")
    try:
        context.log.info(deliver(context.instance, lakehouse, notifier, house=house).describe())
    except Exception as exc:  # the row is written; alert_delivery_sensor retries it
        context.log.error(f"delivery deferred to alert_delivery_sensor: {exc}")


def _metadata(evaluation: Any) -> dict[str, Any]:
    return {k: getattr(v, "value", v) for k, v in (evaluation.metadata or {}).items()}


def _check_alert(record: Any) -> Alert | None:
    """The AssetCheckFailed alert of one evaluation event, if it is a failed blocking check.

    Only the zero-tolerance invariants, failed with ERROR severity: `checkpoint_created` has its
    own alert kinds (CheckpointFailed, the streak), and a WARN result (a rollback's restored
    schema) is expected where it is reported.
    """
    evaluation = record.event_log_entry.dagster_event.event_specific_data
    key = evaluation.asset_key
    if evaluation.passed or key.path[0] != "bronze" or evaluation.check_name not in BLOCKING:
        return None
    if evaluation.severity != dg.AssetCheckSeverity.ERROR:
        return None
    table = key.path[-1]
    metadata = _metadata(evaluation)
    message = (f"check {evaluation.check_name} of bronze table {table} failed"
               + (f": {metadata['actual']}" if metadata.get("actual") not in (None, "") else ""))
    details = {"check": evaluation.check_name, "asset": key.to_user_string(),
               "metadata": metadata, "description": evaluation.description,
               "event_id": record.storage_id}
    return "AssetCheckFailed", message, table, details


def _already_alerted(lakehouse: LakehouseResource, run_id: str, events: set[int]) -> set[int]:
    """Evaluations of this run that already have their alert row (a repeated tick)."""
    house = lakehouse.metadata_lakehouse()
    if not has_alerts(house):
        return set()
    rows = lakehouse.metadata(house).rows(
        MetadataTable.Alerts, equals={"PipelineRunId": run_id, "AlertType": "AssetCheckFailed"})
    seen = {json.loads(r["DetailsJson"] or "{}").get("event_id") for r in rows}
    return events & {e for e in seen if isinstance(e, int)}


def _ended_runs(instance: dg.DagsterInstance, after: int | None) -> list[Any]:
    """Run-end events after the cursor, oldest first (the last day's when there is none).

    Each end type is fetched on its own; when one batch is full, only events up to its last
    are returned, so the cursor never moves past an event not yet read.
    """
    since = None if after is not None else (datetime.now(UTC) - FIRST_LOOK_BACK).timestamp()
    records: list[Any] = []
    full_until: int | None = None
    for kind in RUN_ENDS:
        found = instance.fetch_run_status_changes(
            dg.RunStatusChangeRecordsFilter(event_type=cast(Any, kind), after_storage_id=after,
                                            after_timestamp=since),
            limit=RUN_BATCH, ascending=True).records
        if len(found) == RUN_BATCH:
            last = found[-1].storage_id
            full_until = last if full_until is None else min(full_until, last)
        records += found
    if full_until is not None:
        records = [r for r in records if r.storage_id <= full_until]
    return sorted(records, key=lambda r: r.storage_id)


@dg.sensor(name="asset_check_alert_sensor", minimum_interval_seconds=30,
           default_status=RUNNING,
           description="Failed blocking checks of bronze tables: one AssetCheckFailed alert row "
           "per failed evaluation, with the check's metadata.")
def asset_check_alert_sensor(
    context: dg.SensorEvaluationContext, lakehouse: LakehouseResource
) -> dg.SkipReason:
    """For each run that ended since the cursor, its failed check evaluations become alerts.

    Why this way: an asset sensor watches materializations, and a failed blocking check may
    come with none (the table is not written); `get_event_records` over all check evaluations
    is deprecated in Dagster 1.13. Run-end events (the same feed run status sensors use) give a
    storage-id cursor, and the run's own event log holds every evaluation with its metadata,
    whether a sync, a checks-only run or a rollback's proof reported it.
    """
    ended = _ended_runs(context.instance, int(context.cursor) if context.cursor else None)
    written = read = 0
    for run_id in dict.fromkeys(r.event_log_entry.run_id for r in ended):
        evaluations = context.instance.get_records_for_run(
            run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION).records
        read += len(evaluations)
        alerts = {r.storage_id: a for r in evaluations if (a := _check_alert(r)) is not None}
        done = _already_alerted(lakehouse, run_id, set(alerts)) if alerts else set()
        fresh = [a for event, a in alerts.items() if event not in done]
        if fresh:
            run = context.instance.get_run_by_id(run_id)
            raise_alert(lakehouse, lakehouse.metadata_lakehouse(), run_id, fresh,
                        job_name=run.job_name if run else None,
                        requested_by="asset_check_alert_sensor")
            written += len(fresh)
    if ended:
        context.update_cursor(str(ended[-1].storage_id))
    return dg.SkipReason(f"{len(ended)} ended run(s), {read} check evaluation(s) read, "
                         f"{written} alert(s) written")


def _last_materialized(
    instance: dg.DagsterInstance, keys: Sequence[dg.AssetKey]
) -> dict[dg.AssetKey, datetime | None]:
    found: dict[dg.AssetKey, datetime | None] = dict.fromkeys(keys)
    for record in instance.get_asset_records(list(keys)):
        event = record.asset_entry.last_materialization
        if event is not None:
            found[record.asset_entry.asset_key] = datetime.fromtimestamp(event.timestamp, UTC)
    return found


def _last_sync_run(instance: dg.DagsterInstance) -> str:
    """The latest daily sync run: the run a stale table's message links to ('' if none)."""
    runs = instance.get_runs(filters=dg.RunsFilter(job_name=SYNC_JOB), limit=1)
    return runs[0].run_id if runs else ""


def stale_tables(
    platform: PlatformConfig, instance: dg.DagsterInstance, now: datetime
) -> dict[str, tuple[datetime, datetime | None]]:
    """Tables past their freshness deadline: table -> (deadline missed, last materialization)."""
    policy = bronze_freshness_policy(platform)
    keys = {bronze_key(t): t for t in platform.table_names}
    stale = {}
    for key, last in _last_materialized(instance, list(keys)).items():
        deadline = missed_deadline(policy, last, now)
        if deadline is not None:
            stale[keys[key]] = (deadline, last)
    return stale


def bronze_stale_sensor(platform: PlatformConfig) -> dg.SensorDefinition:
    """A `BronzeStale` alert per table that missed its deadline, once per missed deadline.

    The deadline is the bronze assets' freshness policy (the daily sync's cron plus
    `alerting.freshness_grace_hours`); the cursor remembers which deadline each table was
    alerted for, so the alert is not repeated every tick while the table stays stale.
    """

    @dg.sensor(name="bronze_stale_sensor", minimum_interval_seconds=300, default_status=RUNNING,
               description="A bronze table not synced by its daily deadline (the sync's cron "
               "plus the grace hours of tables.yaml): a BronzeStale alert.")
    def _sensor(
        context: dg.SensorEvaluationContext, lakehouse: LakehouseResource
    ) -> dg.SkipReason:
        alerted: dict[str, str] = json.loads(context.cursor or "{}")
        stale = stale_tables(platform, context.instance, datetime.now(UTC))
        new = {t: v for t, v in stale.items() if alerted.get(t) != v[0].isoformat()}
        if new:
            run_id = _last_sync_run(context.instance)
            raise_alert(lakehouse, lakehouse.metadata_lakehouse(), run_id,
                        [_stale_alert(t, deadline, last) for t, (deadline, last) in new.items()],
                        job_name=SYNC_JOB, requested_by="bronze_stale_sensor")
        context.update_cursor(json.dumps({t: v[0].isoformat() for t, v in stale.items()},
                                         sort_keys=True))
        return dg.SkipReason(f"{len(stale)} stale table(s), {len(new)} new alert(s)"
                             + (f": {', '.join(sorted(new))}" if new else ""))

    return _sensor


def _stale_alert(table: str, deadline: datetime, last: datetime | None
                 ) -> Alert:
    when = last.strftime("%Y-%m-%d %H:%M UTC") if last else "never"
    message = (f"bronze table {table} was not synced by {deadline:%Y-%m-%d %H:%M %Z}; "
               f"last synced {when}")
    return "BronzeStale", message, table, {"deadline": deadline.isoformat(),
                                           "last_materialization": last.isoformat() if last
                                           else None}


def alert_sensors(platform: PlatformConfig) -> list[dg.SensorDefinition]:
    """Every alerting sensor of the platform, for the definitions."""
    return [alert_delivery_sensor, run_failure_alert_sensor, asset_check_alert_sensor,
            bronze_stale_sensor(platform)]
