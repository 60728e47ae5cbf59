"""Schedules, with an explicit timezone so "daily" means the same day everywhere."""

from datetime import UTC

import dagster as dg

SCHEDULE_TIMEZONE = "UTC"


@dg.schedule(
    name="daily_sync_schedule",
    job_name="daily_sync_job",
    cron_schedule="0 2 * * *",
    execution_timezone=SCHEDULE_TIMEZONE,
    description="Daily at 02:00 UTC, after the CRM export lands; syncs that day's extracts.",
)
def daily_sync_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    """Sync the extract dated the scheduled day, once per day (run key)."""
    day = context.scheduled_execution_time.astimezone(UTC).date().isoformat()
    return dg.RunRequest(
        run_key=f"daily_sync_{day}",
        run_config={"ops": {"daily_sync": {"config": {
            "sync_date": day, "requested_by": "daily_sync_schedule"}}}},
        tags={"sync_date": day},
    )
