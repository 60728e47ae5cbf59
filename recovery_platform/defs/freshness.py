"""When a bronze table counts as stale: the daily sync's cron plus a grace period.

The policy is attached to every bronze asset, so the Dagster UI shows it (and evaluates it when
the instance runs its freshness daemon), and `missed_deadline` applies the same rule as Dagster's
evaluators for `bronze_stale_sensor`, which raises the `BronzeStale` alert: one rule, two readers.
"""

import re
from datetime import UTC, datetime, timedelta

import dagster as dg
from dagster._core.definitions.freshness import CronFreshnessPolicy, TimeWindowFreshnessPolicy
from dagster._utils.schedules import get_latest_completed_cron_tick, get_smallest_cron_interval

from recovery_platform.domain.lakehouse.table_config import PlatformConfig

_SIMPLE = re.compile(r"^\d{1,2}(,\d{1,2})*$")
MIN_LOWER_BOUND = timedelta(minutes=1)
"""Dagster's smallest allowed window: a grace of 0 hours means "by the scheduled minute"."""


def shifted_cron(cron: str, hours: int) -> str | None:
    """`cron` moved `hours` later, or None when that cannot be written as one cron string.

    Only a numeric minute and hour list are moved; a move past midnight also needs every day
    field to be `*` (moving weekdays or dates is not attempted).
    """
    fields = cron.split()
    if len(fields) != 5 or not fields[0].isdigit() or not _SIMPLE.match(fields[1]):
        return None
    moved = [int(h) + hours for h in fields[1].split(",")]
    if any(h >= 24 for h in moved) and fields[2:] != ["*", "*", "*"]:
        return None
    fields[1] = ",".join(str(h) for h in sorted({h % 24 for h in moved}))
    return " ".join(fields)


def bronze_freshness_policy(platform: PlatformConfig) -> dg.FreshnessPolicy:
    """Synced since the last daily sync tick, checked `freshness_grace_hours` after it.

    A cron policy with the deadline at tick + grace and the window opening at the tick; when the
    cron cannot be shifted (or the grace exceeds its interval), a time window of one interval
    plus the grace, which flags the same missed sync, up to the sync's own duration later.
    """
    when = platform.schedules["daily_sync"]
    grace = timedelta(hours=platform.alerting.freshness_grace_hours)
    interval = get_smallest_cron_interval(when.cron)
    deadline = shifted_cron(when.cron, platform.alerting.freshness_grace_hours)
    if deadline is not None and grace <= interval:
        return dg.FreshnessPolicy.cron(deadline_cron=deadline,
                                       lower_bound_delta=max(grace, MIN_LOWER_BOUND),
                                       timezone=when.timezone)
    return dg.FreshnessPolicy.time_window(fail_window=interval + grace)


def missed_deadline(
    policy: dg.FreshnessPolicy, last_materialized: datetime | None, now: datetime
) -> datetime | None:
    """The deadline a table missed under `policy`, or None while it is fresh.

    Dagster's evaluators' rule: a cron policy fails when the last materialization is older than
    the last completed deadline minus the window; a time window when it is older than the window.
    Never materialized is Dagster's UNKNOWN, not stale: a new table has had no sync to miss.
    """
    if last_materialized is None:
        return None
    now = now if now.tzinfo else now.replace(tzinfo=UTC)
    if isinstance(policy, CronFreshnessPolicy):
        tick = get_latest_completed_cron_tick(policy.deadline_cron, now, policy.timezone)
        return tick if last_materialized < tick - policy.lower_bound_delta else None
    if isinstance(policy, TimeWindowFreshnessPolicy):
        deadline = last_materialized + policy.fail_window.to_timedelta()
        return deadline if now >= deadline else None
    raise TypeError(f"unsupported freshness policy {type(policy).__name__}")
