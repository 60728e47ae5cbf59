"""Failure streaks: three days in a row without a Daily checkpoint is Critical, once a day."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest

from recovery_platform.domain.checkpoints.failure_streaks import (
    STREAK_ALERT,
    failure_streaks,
    find_streak,
)
from recovery_platform.domain.lakehouse.audit import Actor, AuditStep, AuditTrail, utc_now
from recovery_platform.domain.lakehouse.fault_injection import CRASH_ENV
from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable
from recovery_platform.domain.lakehouse.vocabulary import AuditStatus, OperationType
from recovery_platform_tests.domain.extracts import land_small_crm
from recovery_platform_tests.domain.site import Site, make_site
from recovery_platform_tests.domain.sync_runs import sync_run

DAY = date(2026, 4, 10)


def days(*offsets: int) -> set[date]:
    return {DAY - timedelta(days=n) for n in offsets}


@pytest.mark.parametrize(
    ("failed", "succeeded", "expected"),
    [
        (days(0, 1, 2), set(), 3),
        (days(1, 2, 3), set(), 3),  # today not attempted yet: the streak ends yesterday
        (days(0, 1, 2, 3, 4), set(), 5),
        (days(0, 1), set(), 0),
        (days(0, 1, 3), set(), 0),  # a day without any attempt ends it
        (days(0, 1, 2), days(1), 0),  # a re-run that succeeded clears the day
        (days(1, 2, 3), days(0), 0),  # today succeeded
        (days(2, 3, 4), set(), 0),  # ended two days ago
    ],
)
def test_find_streak(failed: set[date], succeeded: set[date], expected: int) -> None:
    streak = find_streak(failed, succeeded, DAY, 3)
    assert len(streak) == expected
    assert list(streak) == sorted(streak)


def record_failure(audit: AuditTrail, table: str, day: date, error: str) -> None:
    """A CheckpointFailed row as the daily sync writes it, on an earlier day."""
    step = AuditStep(OperationType.CheckpointFailed, table, status=AuditStatus.Failed,
                     error=error)
    audit.record(step, started=datetime.combine(day, time(2, 0), tzinfo=UTC))


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Site:
    """Two earlier failed days of account, then today's real sync whose checkpoints all fail."""
    site = make_site(tmp_path)
    today = utc_now().date()
    audit = AuditTrail(site.store, "earlier-runs", Actor(requested_by="scheduler"))
    record_failure(audit, "account", today - timedelta(days=2), "StorageUnreachableError: 503")
    record_failure(audit, "account", today - timedelta(days=1), "StorageUnreachableError: 504")
    record_failure(audit, "contact", today - timedelta(days=1), "StorageUnreachableError: 504")
    audit.flush()
    land_small_crm(site.landing, today)
    monkeypatch.setenv(CRASH_ENV, "sync.daily_checkpoint")
    sync_run(site.lakehouse, site.store, site.leases, site.landing, today)
    monkeypatch.delenv(CRASH_ENV)
    return site


def test_the_third_failed_day_s_sync_raises_one_critical_alert_naming_days_and_errors(
    site: Site,
) -> None:
    today = utc_now().date()
    audit = AuditTrail(site.store, "maintenance", Actor(requested_by="ops"))

    (streak,) = failure_streaks(site.store, audit, today=today)
    audit.flush()

    assert streak.table == "account" and not streak.alerted  # today's sync alerted already
    assert streak.days == tuple(today - timedelta(days=n) for n in (2, 1, 0))
    assert streak.errors[streak.days[0]] == ("StorageUnreachableError: 503",)
    assert streak.errors[today][0].startswith("InjectedCrash: ")  # today's real sync
    (alert,) = site.store.rows(MetadataTable.Alerts, equals={"AlertType": STREAK_ALERT})
    assert (alert["Severity"], alert["TableName"]) == ("CRITICAL", "account")
    for day in streak.days:
        assert str(day) in alert["Message"]
    assert "StorageUnreachableError: 504" in alert["Message"]
    assert json.loads(alert["DetailsJson"])["days"] == [str(d) for d in streak.days]


def test_the_same_streak_is_not_alerted_twice_on_the_same_day(site: Site) -> None:
    today = utc_now().date()
    for run in ("first", "second"):
        audit = AuditTrail(site.store, run, Actor(requested_by="ops"))
        (streak,) = failure_streaks(site.store, audit, today=today)
        audit.flush()
        assert not streak.alerted  # the sync that failed the third day raised it
    assert len(site.store.rows(MetadataTable.Alerts, equals={"AlertType": STREAK_ALERT})) == 1


def test_a_daily_checkpoint_taken_today_ends_the_streak(site: Site) -> None:
    today = utc_now().date()
    sync_run(site.lakehouse, site.store, site.leases, site.landing, today)  # the re-run works
    audit = AuditTrail(site.store, "maintenance", Actor(requested_by="ops"))
    assert failure_streaks(site.store, audit, today=today) == []
