"""A Daily checkpoint that cannot be recorded is a warning: the sync run still succeeds (CR-001)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from recovery_platform.defs.checks import CHECKPOINT_CHECK
from recovery_platform.domain.lakehouse.fault_injection import CRASH_ENV
from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable
from recovery_platform_tests.defs.run_results import failure_text
from recovery_platform_tests.defs.test_daily_sync_job import TABLES, checks, run_rows, run_sync
from recovery_platform_tests.domain.site import DEMO_START, demo, make_site


def test_a_failed_daily_checkpoint_warns_and_alerts_without_failing_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = make_site(tmp_path)
    demo(site.landing, days=1)
    monkeypatch.setenv(CRASH_ENV, "sync.daily_checkpoint")

    result = run_sync(site, DEMO_START)

    assert result.success, failure_text(result)
    materialized = {e.asset_key.path[-1] for e in result.get_asset_materialization_events()}
    assert set(TABLES) <= materialized
    found = checks(result)
    for table in TABLES:
        evaluation = found[(table, CHECKPOINT_CHECK)]
        assert not evaluation.passed
        assert evaluation.severity is dg.AssetCheckSeverity.WARN
        assert "checkpoint failed" in evaluation.metadata["problem"].value
    alerts = run_rows(site, MetadataTable.Alerts, result, AlertType="CheckpointFailed")
    assert sorted(a["TableName"] for a in alerts) == sorted(TABLES)
    batch = run_rows(site, MetadataTable.CheckpointHistory, result,
                     CheckpointType="DailyBatch")
    assert [b["ValidationStatus"] for b in batch] == ["Failed"]
    assert not run_rows(site, MetadataTable.CheckpointHistory, result, CheckpointType="Daily")
