"""Failure streaks (CR-001 §6): a table whose Daily checkpoint keeps failing is escalated.

One failed Daily checkpoint is a warning (the `checkpoint_created` asset check, a Warning alert);
three days in a row means the table has had no fresh restore point for days, which is Critical.

The source is the `CheckpointFailed` rows of `SyncAuditLog`. The daily sync writes one for a
table exactly when its Daily checkpoint could not be pinned or staged; that is also exactly when
the `checkpoint_created` check fails, but the check's results live in Dagster's event log, which
domain code cannot read, while the audit row is in the lakehouse with the table, the time and
the error. `CheckpointHistory` cannot be the source: a Daily checkpoint is recorded only when it
succeeded (a failed one leaves no row), so it serves the other way, as proof of a good day.

A day is the UTC date the sync ran (`StartTime`). It is a failed day for a table when the table
has a `CheckpointFailed` row that day and no Daily checkpoint created that day (a re-run that
succeeded clears the day). A streak is the run of consecutive failed days ending today, or
yesterday when today has no attempt yet (the check may run before today's sync); any day with a
success, or with no attempt, ends it.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from recovery_platform.domain.lakehouse.audit import AuditTrail
from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable
from recovery_platform.domain.lakehouse.metadata_store import MetadataStore
from recovery_platform.domain.lakehouse.vocabulary import (
    CheckpointType,
    OperationType,
)

STREAK_ALERT = "CheckpointFailureStreak"


@dataclass(frozen=True)
class Streak:
    """Consecutive days on which a table's Daily checkpoint failed, with the errors of each."""

    table: str
    days: tuple[date, ...]
    errors: Mapping[date, tuple[str, ...]]
    alerted: bool
    """True when this call raised the alert; False when one was already raised today."""


def find_streak(
    failed: Collection[date], succeeded: Collection[date], today: date, min_days: int
) -> tuple[date, ...]:
    """The current run of failed days (oldest first) if it is `min_days` long, else ()."""
    if today in succeeded:
        return ()
    day = today if today in failed else today - timedelta(days=1)
    days: list[date] = []
    while day in failed and day not in succeeded:
        days.append(day)
        day -= timedelta(days=1)
    return tuple(reversed(days)) if len(days) >= min_days else ()


def failure_streaks(
    store: MetadataStore, audit: AuditTrail, *, today: date, min_days: int = 3
) -> list[Streak]:
    """Every table's current streak of `min_days` or more failed days; each alerted once a day.

    A streak already alerted today (an Alerts row of the same table and first day, created
    today) is returned with `alerted=False` and not alerted again; the caller flushes.
    """
    errors = _failures(store.rows(MetadataTable.SyncAuditLog,
                                  equals={"OperationType": OperationType.CheckpointFailed.value}))
    succeeded = _successes(store.rows(MetadataTable.CheckpointHistory,
                                      equals={"CheckpointType": CheckpointType.Daily.value}))
    raised = _alerted_today(store.rows(MetadataTable.Alerts, equals={"AlertType": STREAK_ALERT}),
                            today)
    streaks = []
    for table in sorted(errors):
        days = find_streak(errors[table], succeeded.get(table, set()), today, min_days)
        if not days:
            continue
        streak = Streak(table, days, {d: errors[table][d] for d in days},
                        alerted=(table, days[0]) not in raised)
        if streak.alerted:
            _alert(audit, streak)
        streaks.append(streak)
    return streaks


def _failures(rows: Iterable[Mapping[str, Any]]) -> dict[str, dict[date, tuple[str, ...]]]:
    """Errors of failed Daily checkpoints, by table and UTC day."""
    found: dict[str, dict[date, list[str]]] = {}
    for row in rows:
        if row["TableName"] and row["StartTime"] is not None:
            by_day = found.setdefault(str(row["TableName"]), {})
            by_day.setdefault(row["StartTime"].date(), []).append(
                str(row["ErrorMessage"] or "no error recorded"))
    return {t: {d: tuple(e) for d, e in days.items()} for t, days in found.items()}


def _successes(rows: Iterable[Mapping[str, Any]]) -> dict[str, set[date]]:
    """UTC days on which each table got a Daily checkpoint."""
    found: dict[str, set[date]] = {}
    for row in rows:
        if row["TableName"]:
            found.setdefault(str(row["TableName"]), set()).add(row["CreatedDate"].date())
    return found


def _alerted_today(rows: Iterable[Mapping[str, Any]], today: date) -> set[tuple[str, date]]:
    """(table, first day) of the streaks already alerted today."""
    found = set()
    for row in rows:
        if row["CreatedAt"].date() == today and row["TableName"]:
            first = json.loads(row["DetailsJson"] or "{}").get("first_day")
            if first:
                found.add((str(row["TableName"]), date.fromisoformat(first)))
    return found


def _alert(audit: AuditTrail, streak: Streak) -> None:
    listing = "; ".join(f"{d}: {' / '.join(streak.errors[d])}" for d in streak.days)
    audit.alert(
        STREAK_ALERT,
        f"The Daily checkpoint of {streak.table} failed on {len(streak.days)} consecutive days "
        f"({streak.days[0]} to {streak.days[-1]}): {listing}. The table has no fresh restore "
        "point since then. Recommended action: fix the cause named in the errors, then take a "
        "Manual checkpoint of the table or let the next daily sync record one.",
        table=streak.table,
        details={"first_day": streak.days[0].isoformat(), "last_day": streak.days[-1].isoformat(),
                 "days": [d.isoformat() for d in streak.days],
                 "errors": {d.isoformat(): list(e) for d, e in streak.errors.items()}},
    )
