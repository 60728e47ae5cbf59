"""`maintenance_job`, `checkpoint_integrity_job` and their schedules, run in process."""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from recovery_platform.definitions import defs
from recovery_platform.defs.maintenance import MaintenanceOperation
from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable
from recovery_platform.domain.maintenance.request import OPERATIONS
from recovery_platform_tests.defs.run_results import failure_text
from recovery_platform_tests.defs.test_operations_jobs import (
    bronze_versions,
    run_job,
    run_sync,
)
from recovery_platform_tests.domain.extracts import land_small_crm
from recovery_platform_tests.domain.site import Site, copy_site, make_site

TODAY = datetime.now(UTC).date()
DAY_ONE, DAY_TWO = TODAY - timedelta(days=2), TODAY - timedelta(days=1)
MAINTENANCE_OP = "reports__maintenance"
INTEGRITY_OP = "reports__checkpoint_integrity"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Site:
    """Two days synced by the job: Daily and DailyBatch checkpoints on every table."""
    site = make_site(tmp_path_factory.mktemp("maintained"))
    for day in (DAY_ONE, DAY_TWO):
        land_small_crm(site.landing, day, count=20 if day == DAY_ONE else 24)
        assert run_sync(site, day).success
    return site


@pytest.fixture
def site(template: Site, tmp_path: Path) -> Site:
    return copy_site(template, tmp_path)


def _materialization(result: dg.ExecuteInProcessResult) -> dict[str, Any]:
    (event,) = result.get_asset_materialization_events()
    return {k: v.value for k, v in event.materialization.metadata.items()}


def _check(result: dg.ExecuteInProcessResult) -> dg.AssetCheckEvaluation:
    (evaluation,) = [e.asset_check_evaluation_data for e in result.all_events
                     if e.event_type_value == "ASSET_CHECK_EVALUATION"]
    return evaluation


def _files(site: Site) -> set[str]:
    root = Path(site.lakehouse.root)
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()
            and "metadata" not in p.relative_to(root).parts}


def test_the_launchpad_operations_are_the_domains() -> None:
    assert tuple(o.value for o in MaintenanceOperation) == OPERATIONS


def test_by_hand_the_job_is_a_dry_run_that_reports_and_changes_no_table(site: Site) -> None:
    versions, files = bronze_versions(site), _files(site)
    result = run_job(site, "maintenance_job", MAINTENANCE_OP, {"requested_by": "ops@example.org"})
    assert result.success, failure_text(result)
    metadata = _materialization(result)
    assert metadata["dry_run"] is True
    assert "| account |" in metadata["report"]
    assert bronze_versions(site) == versions and _files(site) == files
    assert _check(result).passed
    rows = site.store.rows(MetadataTable.SyncAuditLog, equals={"PipelineRunId": result.run_id})
    assert rows and {r["DryRun"] for r in rows} == {True}
    assert {r["RequestedBy"] for r in rows} == {"ops@example.org"}


def test_a_real_run_pins_each_table_before_writing_and_reports_the_summary(site: Site) -> None:
    result = run_job(site, "maintenance_job", MAINTENANCE_OP, {
        "dry_run": False, "tables": ["account"], "operations": ["optimize", "vacuum"],
        "reason": "weekly", "requested_by": "ops@example.org"})
    assert result.success, failure_text(result)
    metadata = _materialization(result)
    assert metadata["dry_run"] is False and _check(result).passed
    pre = site.store.rows(MetadataTable.CheckpointHistory,
                          equals={"CheckpointType": "PreMaintenance"})
    assert [r["TableName"] for r in pre] == ["account"]
    operations = {r["OperationType"] for r in site.store.rows(
        MetadataTable.SyncAuditLog, equals={"PipelineRunId": result.run_id})}
    assert {"Vacuum", "Optimize"} <= operations


def test_a_table_outside_the_allowlist_fails_the_run_naming_the_field(site: Site) -> None:
    versions = bronze_versions(site)
    result = run_job(site, "maintenance_job", MAINTENANCE_OP,
                     {"dry_run": False, "tables": ["accounts"]})
    assert not result.success
    assert "tables" in failure_text(result) and "account, contact" in failure_text(result)
    assert bronze_versions(site) == versions


def test_sunday_sync_and_maintenance_launched_together_both_succeed(site: Site) -> None:
    land_small_crm(site.landing, TODAY, count=28)
    results: dict[str, dg.ExecuteInProcessResult] = {}

    def launch(name: str) -> None:
        if name == "sync":
            results[name] = run_sync(site, TODAY)
        else:
            results[name] = run_job(site, "maintenance_job", MAINTENANCE_OP, {
                "dry_run": False, "operations": ["optimize", "vacuum"],
                "requested_by": "weekly_maintenance_schedule"})

    threads = [threading.Thread(target=launch, args=(n,)) for n in ("sync", "maintenance")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    assert results["sync"].success, failure_text(results["sync"])
    assert results["maintenance"].success, failure_text(results["maintenance"])
    assert _materialization(results["maintenance"])["tables_failed"] == 0


def test_the_weekly_schedule_runs_for_real_on_sundays_with_a_valid_config() -> None:
    schedule = defs.resolve_schedule_def("weekly_maintenance_schedule")
    sunday = datetime(2026, 12, 6, 2, 0, tzinfo=UTC)
    (request,) = schedule.evaluate_tick(
        dg.build_schedule_context(scheduled_execution_time=sunday)).run_requests or []
    assert request.run_config["ops"][MAINTENANCE_OP]["config"]["dry_run"] is False
    dg.validate_run_config(defs.resolve_job_def("maintenance_job"), request.run_config)
    integrity = defs.resolve_schedule_def("checkpoint_integrity_schedule")
    (check,) = integrity.evaluate_tick(
        dg.build_schedule_context(scheduled_execution_time=sunday)).run_requests or []
    assert check.run_config["ops"][INTEGRITY_OP]["config"]["deep"] is True
    dg.validate_run_config(defs.resolve_job_def("checkpoint_integrity_job"), check.run_config)


def test_integrity_job_proves_the_checkpoints_and_fails_its_check_on_a_lost_file(
    site: Site,
) -> None:
    result = run_job(site, "checkpoint_integrity_job", INTEGRITY_OP, {"deep": False})
    assert result.success, failure_text(result)
    metadata = _materialization(result)
    assert metadata["checkpoints_checked"] > 0 and metadata["checkpoints_unrestorable"] == 0
    assert _check(result).passed

    pinned = site.store.rows(MetadataTable.CheckpointTables, equals={"TableName": "donation"})
    first = min(r["DeltaVersion"] for r in pinned)
    uri = site.lakehouse.bronze_uri("donation")
    os.remove(sorted(_data_files(uri, first))[0])

    again = run_job(site, "checkpoint_integrity_job", INTEGRITY_OP, {"deep": False})
    assert again.success, failure_text(again)
    assert _materialization(again)["checkpoints_unrestorable"] >= 1
    assert not _check(again).passed
    alerts = site.store.rows(MetadataTable.Alerts, equals={"PipelineRunId": again.run_id})
    assert {a["Severity"] for a in alerts} == {"CRITICAL"}


def _data_files(uri: str, version: int) -> set[str]:
    from deltalake import DeltaTable

    return {f.removeprefix("file://") for f in DeltaTable(uri, version=version).file_uris()}
