"""A dry run changes nothing and reports what the real run would do (safety rule 5)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable
from recovery_platform_tests.domain.maintenance.aging import age_commit, age_commits, data_files
from recovery_platform_tests.domain.maintenance.scenario import (
    FORTY_DAYS,
    checkpoints_pinning,
    deactivate,
    maintain,
    rows,
)
from recovery_platform_tests.domain.site import Site

OWN_ROWS = {MetadataTable.SyncAuditLog, MetadataTable.Alerts}
"""The only metadata tables a dry run writes to: its own audit rows and alerts."""


def test_a_dry_run_changes_nothing_and_reports_what_would_happen(site: Site) -> None:
    lakehouse, engine = site.lakehouse, site.lakehouse.engine
    uri = lakehouse.bronze_uri("account")
    age_commits(uri, range(3), FORTY_DAYS)
    age_commit(uri, 3, FORTY_DAYS)
    deactivate(site.store, checkpoints_pinning(site.store, "account", 2))
    expired = checkpoints_pinning(site.store, "contact", 1)[0]
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date()
    site.store.upsert(MetadataTable.CheckpointHistory,
                      [{"CheckpointId": expired, "RetentionDate": yesterday}], key="CheckpointId")
    names = lakehouse.config.table_names
    bronze = {t: engine.state(lakehouse.bronze_uri(t)).version for t in names}
    metadata = {t: engine.state(lakehouse.metadata_uri(t)).version for t in MetadataTable
                if engine.table_exists(lakehouse.metadata_uri(t)) and t not in OWN_ROWS}
    files = data_files(lakehouse.root)
    history = rows(site.store, MetadataTable.CheckpointHistory)

    summary, run_id = maintain(site, dry_run=True)

    assert {t: engine.state(lakehouse.bronze_uri(t)).version for t in bronze} == bronze
    assert {t: engine.state(lakehouse.metadata_uri(t)).version for t in metadata} == metadata
    kept = {f for f in files if "/metadata/SyncAuditLog/" not in f and "/metadata/Alerts/" not in f}
    assert kept <= data_files(lakehouse.root)
    assert rows(site.store, MetadataTable.CheckpointHistory) == history
    # what the real run would do
    account = next(t for t in summary.tables if t.table == "account")
    assert account.vacuum is not None and account.vacuum.dry_run
    assert account.files_removed >= 1 and account.bytes_reclaimed > 0
    assert account.unreachable_versions == (2,)
    assert account.vacuum.pinned_unreachable == ()
    assert summary.checkpoints_deactivated == (expired,)
    assert {t.table for t in summary.tables} >= {"account", "metadata.SyncAuditLog"}
    assert not summary.failures, summary.failures
    steps = rows(site.store, MetadataTable.SyncAuditLog, PipelineRunId=run_id)
    assert steps and all(s["DryRun"] for s in steps)
    assert {s["OperationType"] for s in steps} >= {"Vacuum", "Optimize",
                                                   "CheckpointRetentionEnforcement"}
    metadata_out = summary.as_metadata()
    assert metadata_out["files_removed"] == summary.files_removed >= 1
    assert metadata_out["checkpoints_deactivated"] == 1
    assert metadata_out["dry_run"] is True and "would be removed" in summary.markdown()
