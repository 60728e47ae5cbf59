"""The daily sync schedule: one run per UTC day, syncing that day's extracts."""

from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest

from recovery_platform.definitions import defs
from recovery_platform.defs.sync import daily_sync_schedule


def _request(when: datetime) -> dg.RunRequest:
    context = dg.build_schedule_context(scheduled_execution_time=when)
    result = daily_sync_schedule.evaluate_tick(context)
    assert result.run_requests is not None and len(result.run_requests) == 1
    return result.run_requests[0]


def test_tick_syncs_the_scheduled_day_once() -> None:
    request = _request(datetime(2026, 3, 4, 2, 0, tzinfo=UTC))
    assert request.run_key == "daily_sync_2026-03-04"
    config = request.run_config["ops"]["daily_sync"]["config"]
    assert config == {"sync_date": "2026-03-04", "requested_by": "daily_sync_schedule"}
    assert request.tags["sync_date"] == "2026-03-04"


def test_run_key_differs_per_day_and_repeats_within_a_day() -> None:
    monday = _request(datetime(2026, 3, 2, 2, 0, tzinfo=UTC))
    again = _request(datetime(2026, 3, 2, 2, 0, tzinfo=UTC))
    tuesday = _request(datetime(2026, 3, 2, 2, 0, tzinfo=UTC) + timedelta(days=1))
    assert monday.run_key == again.run_key != tuesday.run_key


def test_the_run_config_is_valid_for_the_job() -> None:
    request = _request(datetime(2026, 3, 4, 2, 0, tzinfo=UTC))
    job = defs.resolve_job_def("daily_sync_job")
    dg.validate_run_config(job, request.run_config)


def test_schedule_fires_daily_at_two_utc() -> None:
    assert daily_sync_schedule.cron_schedule == "0 2 * * *"
    assert daily_sync_schedule.execution_timezone == "UTC"


@pytest.mark.parametrize("field", ["sync_date", "requested_by"])
def test_run_config_fields_exist_on_the_job(field: str) -> None:
    job = defs.resolve_job_def("daily_sync_job")
    with pytest.raises(dg.DagsterInvalidConfigError):
        dg.validate_run_config(job, {"ops": {"daily_sync": {"config": {field: 3}}}})
