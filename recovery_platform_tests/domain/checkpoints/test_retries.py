"""Checkpoint creation retries transient failures; a lasting failure is audited, not fatal."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from recovery_platform.domain.checkpoints.retention import FILE_RETENTION
from recovery_platform.domain.lakehouse.lease import LeaseStore
from recovery_platform.domain.lakehouse.location import Lakehouse
from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable
from recovery_platform.domain.lakehouse.metadata_store import MetadataStore
from recovery_platform.domain.lakehouse.retries import with_retries
from recovery_platform.domain.sync.table import SyncStatus
from recovery_platform.engine import EngineError
from recovery_platform_tests.domain.extracts import bronze_rows, keys, land_keys, land_small_crm
from recovery_platform_tests.domain.sync_runs import sync_run

D1, D2 = date(2026, 5, 1), date(2026, 5, 2)


class Flaky:
    """Fails with `error` on the first `failures` calls, then returns the call count."""

    def __init__(self, failures: int, error: Exception) -> None:
        self.failures, self.error, self.calls = failures, error, 0

    def __call__(self) -> int:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return self.calls


@pytest.mark.parametrize("error", [OSError("disk hiccup"), EngineError("commit conflict")])
def test_transient_failures_are_retried_twice(error: Exception) -> None:
    action = Flaky(2, error)
    assert with_retries(action, delay_seconds=0) == 3
    assert action.calls == 3


def test_a_failure_that_lasts_is_raised_after_three_attempts() -> None:
    action = Flaky(5, OSError("storage down"))
    with pytest.raises(OSError, match="storage down"):
        with_retries(action, delay_seconds=0)
    assert action.calls == 3


def test_a_non_transient_failure_is_not_retried() -> None:
    action = Flaky(1, ValueError("bad input"))
    with pytest.raises(ValueError, match="bad input"):
        with_retries(action, delay_seconds=0)
    assert action.calls == 1


def test_a_real_checkpoint_failure_is_audited_and_does_not_fail_the_sync(
    lakehouse: Lakehouse, store: MetadataStore, leases: LeaseStore, landing: Path
) -> None:
    land_small_crm(landing, D1)
    sync_run(lakehouse, store, leases, landing, D1)
    uri = lakehouse.bronze_uri("account")
    # A retention property this platform cannot read: it must refuse to promise restorability.
    lakehouse.engine.set_properties(uri, {FILE_RETENTION: "until further notice"})
    land_small_crm(landing, D2)
    land_keys(landing, "account", D2, keys("account", 0, 21))

    result = sync_run(lakehouse, store, leases, landing, D2)

    outcome = result.tables["account"]
    assert outcome.sync.status is SyncStatus.Synced
    assert outcome.validation is not None and outcome.validation.passed
    assert outcome.checkpoint is None
    assert outcome.problem is not None and outcome.problem.startswith("checkpoint failed: ")
    assert "until further notice" in outcome.problem
    assert "account-0020" in bronze_rows(lakehouse, "account")
    assert lakehouse.engine.state(uri).version == outcome.sync.version_after
    for other in ("contact", "donation", "activitypointer"):
        assert result.tables[other].ok and result.tables[other].checkpoint is not None

    audit = store.rows(MetadataTable.SyncAuditLog, equals={"PipelineRunId": result.run_id})
    by_operation = {(r["OperationType"], r["TableName"]): r for r in audit}
    failed = by_operation[("CheckpointFailed", "account")]
    assert failed["Status"] == "Failed"
    assert "until further notice" in failed["ErrorMessage"]
    assert by_operation[("TableSync", "account")]["Status"] == "Succeeded"
    assert by_operation[("TableSync", "account")]["RowsInserted"] == 1
    assert ("CheckpointCreated", "account") not in by_operation
    alerts = store.rows(MetadataTable.Alerts, equals={"PipelineRunId": result.run_id})
    assert [(a["AlertType"], a["TableName"]) for a in alerts] == [("CheckpointFailed", "account")]
    assert alerts[0]["Message"].startswith("Daily checkpoint of account failed: ValueError: ")
    daily = store.rows(
        MetadataTable.CheckpointHistory,
        equals={"PipelineRunId": result.run_id, "CheckpointType": "Daily"},
    )
    assert sorted(r["TableName"] for r in daily) == ["activitypointer", "contact", "donation"]
    batch = result.batch.checkpoint
    assert batch.status == "Failed"
    assert batch.notes is not None and "account: checkpoint failed" in batch.notes
