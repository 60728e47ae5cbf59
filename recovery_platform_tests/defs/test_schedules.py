"""The daily sync schedule: one run per UTC day, syncing that day's extracts."""

from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg
import pytest
from dagster._config.errors import DagsterEvaluationErrorReason, EvaluationError

from recovery_platform.definitions import defs
from recovery_platform.defs.sync import daily_sync_schedule


def _request(when: datetime) -> dg.RunRequest:
    context = dg.build_schedule_context(scheduled_execution_time=when)
    result = daily_sync_schedule.evaluate_tick(context)
    assert result.run_requests is not None and len(result.run_requests) == 1
    return result.run_requests[0]


def _job() -> dg.JobDefinition:
    return defs.resolve_job_def("daily_sync_job")


def _config_errors(config: dict[str, Any]) -> list[EvaluationError]:
    """What `daily_sync_job`'s config schema says of this op config; empty when accepted."""
    try:
        dg.validate_run_config(_job(), {"ops": {"daily_sync": {"config": config}}})
    except dg.DagsterInvalidConfigError as invalid:
        return list(invalid.errors)
    return []


def _path(error: EvaluationError) -> list[str]:
    return [entry.field_name for entry in error.stack.entries]  # type: ignore[attr-defined]


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
    validated = dg.validate_run_config(_job(), request.run_config)
    # accepted as emitted: every value reaches the op, none is replaced by a default
    emitted = request.run_config["ops"]["daily_sync"]["config"]
    assert {k: validated["ops"]["daily_sync"]["config"][k] for k in emitted} == emitted


def test_schedule_fires_daily_at_two_utc() -> None:
    assert daily_sync_schedule.cron_schedule == "0 2 * * *"
    assert daily_sync_schedule.execution_timezone == "UTC"


@pytest.mark.parametrize("field", ["sync_date", "requested_by"])
def test_run_config_fields_exist_on_the_job(field: str) -> None:
    emitted = _request(datetime(2026, 3, 4, 2, 0, tzinfo=UTC)).run_config
    assert field in emitted["ops"]["daily_sync"]["config"]
    assert _config_errors({field: "2026-03-04"}) == []
    # a known field given a value of the wrong type fails at that field; an unknown field
    # would fail one level up, as an unexpected config entry
    (error,) = _config_errors({field: 3})
    assert error.reason is DagsterEvaluationErrorReason.RUNTIME_TYPE_MISMATCH
    assert _path(error) == ["ops", "daily_sync", "config", field]


@pytest.mark.parametrize("misspelt", ["sync_dat", "syncdate", "Sync_Date", "requestedby"])
def test_a_misspelt_field_is_rejected_naming_it(misspelt: str) -> None:
    with pytest.raises(dg.DagsterInvalidConfigError) as invalid:
        dg.validate_run_config(_job(), {"ops": {"daily_sync": {"config": {misspelt: "x"}}}})
    (error,) = invalid.value.errors
    assert error.reason is DagsterEvaluationErrorReason.FIELD_NOT_DEFINED
    assert error.error_data.field_name == misspelt
    assert f'unexpected config entry "{misspelt}"' in str(invalid.value)
