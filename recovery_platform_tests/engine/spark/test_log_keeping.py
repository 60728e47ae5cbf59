"""What a Spark restore must do to keep the log, decided from properties and log file times."""

from __future__ import annotations

import pytest

from recovery_platform.engine.errors import CommitRefusedError
from recovery_platform.engine.spark.log_keeping import LogKeeping, weakened

SECURED = {
    "delta.logRetentionDuration": "interval 67 days",
    "delta.deletedFileRetentionDuration": "interval 67 days",
}
DAY = 86_400.0
NOW = 1_000 * DAY


def _log(*ages_in_days: float) -> dict[str, float]:
    """A log whose commit N is `ages_in_days[N]` days old, with a checkpoint file at 0."""
    times = {f"{v:020d}.json": NOW - age * DAY for v, age in enumerate(ages_in_days)}
    return {**times, f"{0:020d}.checkpoint.parquet": NOW - ages_in_days[0] * DAY}


def test_a_target_with_default_retention_has_both_secured_properties_restated() -> None:
    assert weakened(SECURED, {}) == SECURED
    assert weakened(SECURED, {"delta.logRetentionDuration": "interval 90 days"}) == {
        "delta.deletedFileRetentionDuration": "interval 67 days"}


def test_a_target_that_keeps_at_least_as_much_needs_nothing() -> None:
    assert weakened({}, {}) == {}
    assert weakened({}, SECURED) == {}
    assert weakened({"delta.logRetentionDuration": "1 week 2 days"},
                    {"delta.logRetentionDuration": "interval 9 days"}) == {}
    keeping = LogKeeping("t", {}, SECURED)
    assert keeping.restate == {} and keeping.doomed_versions(_log(400, 90, 1), NOW) == []


def test_turned_off_cleanup_is_kept_off() -> None:
    assert weakened({"delta.enableExpiredLogCleanup": "false"}, {}) == {
        "delta.enableExpiredLogCleanup": "false"}


def test_only_entries_the_shorter_retention_drops_and_today_keeps_are_doomed() -> None:
    keeping = LogKeeping("t", SECURED, {})
    # 80 days: already past today's 67; 60 and 31: kept today, dropped at 30; 29, 1: kept by both
    assert keeping.doomed_versions(_log(80, 60, 31, 29, 1), NOW) == [1, 2]
    never = LogKeeping("t", {"delta.enableExpiredLogCleanup": "false"}, {})
    assert never.doomed_versions(_log(80, 60, 1), NOW) == [0, 1]


def test_a_restore_that_would_shrink_the_log_is_refused_naming_versions_and_retentions() -> None:
    keeping = LogKeeping("bronze/account", SECURED, {})
    keeping.refuse_if_log_shrinks(_log(20, 10, 1), NOW, 1)  # nothing old enough: allowed
    with pytest.raises(CommitRefusedError, match=r"bronze/account to version 2 .* versions 0-1: "
                                                 r".*\(30 days; the table keeps 67 days"):
        keeping.refuse_if_log_shrinks(_log(60, 45, 1), NOW, 2)
