"""The mass-deletion guard: a sync that looks like a disaster is held, not written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from recovery_platform.domain.lakehouse.audit import AuditTrail
from recovery_platform.domain.lakehouse.lease import LeaseStore
from recovery_platform.domain.lakehouse.location import Lakehouse
from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable
from recovery_platform.domain.lakehouse.metadata_store import MetadataStore
from recovery_platform.domain.purge.record import PurgeRequest, record_purge
from recovery_platform.domain.sync.table import SyncOverride, SyncStatus
from recovery_platform.sources import DemoManifest
from recovery_platform_tests.domain.extracts import bronze_rows, delta_log_snapshot, drop_rows
from recovery_platform_tests.domain.site import Site, copy_site, demo, make_site
from recovery_platform_tests.domain.sync_runs import SyncRunResult, sync_run


@pytest.fixture(scope="module")
def day0_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Site, DemoManifest]:
    site = make_site(tmp_path_factory.mktemp("guard"))
    manifest = demo(site.landing)
    sync_run(site.lakehouse, site.store, site.leases, site.landing, manifest.days[0])
    return site, manifest


@pytest.fixture
def synced_day0(day0_template: tuple[Site, DemoManifest], tmp_path: Path) -> DemoManifest:
    """The demo CRM's day 0 synced, copied to where this test's lakehouse fixtures point."""
    template, manifest = day0_template
    copy_site(template, tmp_path)
    return manifest


def day1_sync(
    lakehouse: Lakehouse,
    store: MetadataStore,
    leases: LeaseStore,
    landing: Path,
    demo: DemoManifest,
    **options: object,
) -> SyncRunResult:
    return sync_run(lakehouse, store, leases, landing, demo.days[1], **options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("table", "allowed"),
    [("account", 10), ("donation", 25)],
    ids=["account-10pct", "donation-5pct"],
)
def test_deleting_exactly_the_threshold_share_lands(
    lakehouse: Lakehouse,
    store: MetadataStore,
    leases: LeaseStore,
    landing: Path,
    synced_day0: DemoManifest,
    table: str,
    allowed: int,
) -> None:
    day0, day1 = synced_day0.days[:2]
    source_deleted = synced_day0.stats(table, day1).deleted
    drop_rows(landing, table, day1, allowed - source_deleted, present_on=day0)

    result = day1_sync(lakehouse, store, leases, landing, synced_day0)

    outcome = result.tables[table]
    assert outcome.sync.status is SyncStatus.Synced
    assert outcome.sync.classification is not None
    assert outcome.sync.classification.deleted == allowed
    assert outcome.sync.classification.active_before == synced_day0.scale.count(table)
    assert outcome.ok
    assert result.batch.checkpoint.status == "Validated"


@pytest.mark.parametrize(
    ("table", "allowed"),
    [("account", 10), ("donation", 25)],
    ids=["account-10pct", "donation-5pct"],
)
def test_one_row_over_the_threshold_is_held_and_nothing_is_written(
    lakehouse: Lakehouse,
    store: MetadataStore,
    leases: LeaseStore,
    landing: Path,
    synced_day0: DemoManifest,
    table: str,
    allowed: int,
) -> None:
    day0, day1 = synced_day0.days[:2]
    source_deleted = synced_day0.stats(table, day1).deleted
    drop_rows(landing, table, day1, allowed + 1 - source_deleted, present_on=day0)
    log_before = delta_log_snapshot(lakehouse, table)
    rows_before = bronze_rows(lakehouse, table)

    result = day1_sync(lakehouse, store, leases, landing, synced_day0)

    held = result.tables[table]
    assert held.sync.status is SyncStatus.Held
    assert held.sync.classification is not None
    assert held.sync.classification.deleted == allowed + 1
    assert held.sync.version_before == held.sync.version_after
    assert "held" in held.sync.message and "Nothing was written" in held.sync.message
    assert delta_log_snapshot(lakehouse, table) == log_before
    assert bronze_rows(lakehouse, table) == rows_before
    assert not held.ok

    others = [t for t in lakehouse.config.table_names if t != table]
    for other in others:
        assert result.tables[other].sync.status is SyncStatus.Synced, other
        assert result.tables[other].checkpoint is not None, other
    daily = store.rows(
        MetadataTable.CheckpointHistory,
        equals={"CheckpointType": "Daily", "PipelineRunId": result.run_id},
    )
    assert sorted(r["TableName"] for r in daily) == sorted(others)
    assert {r["CheckpointName"] for r in daily} == {f"bronze_backup_{day1.isoformat()}"}

    alerts = store.rows(MetadataTable.Alerts, equals={"PipelineRunId": result.run_id})
    assert [(a["AlertType"], a["TableName"], a["Severity"]) for a in alerts] == [
        ("SyncHeld", table, "HIGH")
    ]
    assert alerts[0]["Message"] == held.sync.message
    audit = store.rows(
        MetadataTable.SyncAuditLog,
        equals={"PipelineRunId": result.run_id, "OperationType": "SyncHeld"},
    )
    assert [(a["TableName"], a["Status"], a["RowsDeleted"]) for a in audit] == [
        (table, "Held", allowed + 1)
    ]
    assert not store.rows(
        MetadataTable.SyncAuditLog,
        equals={"PipelineRunId": result.run_id, "OperationType": "TableSync", "TableName": table},
    )

    batch = store.rows(
        MetadataTable.CheckpointHistory,
        equals={"CheckpointType": "DailyBatch", "PipelineRunId": result.run_id},
    )
    assert len(batch) == 1
    assert batch[0]["ValidationStatus"] == "Failed"
    assert f"{table}: " in batch[0]["Notes"] and "held" in batch[0]["Notes"]
    assert result.batch.reasons and result.batch.reasons[0].startswith(f"{table}: ")
    last_sync = store.rows(MetadataTable.PipelineConfig, equals={"TableName": table})
    assert last_sync[0]["LastSyncDate"] == day0


def test_override_releases_a_held_table_and_audits_who_and_why(
    lakehouse: Lakehouse,
    store: MetadataStore,
    leases: LeaseStore,
    landing: Path,
    synced_day0: DemoManifest,
) -> None:
    day0, day1 = synced_day0.days[:2]
    dropped = drop_rows(landing, "account", day1, 11, present_on=day0)
    held = day1_sync(lakehouse, store, leases, landing, synced_day0)
    assert held.tables["account"].sync.status is SyncStatus.Held

    override = SyncOverride("account", "CRM cleanup of test accounts", "head.of.data@example.org")
    released = day1_sync(lakehouse, store, leases, landing, synced_day0, overrides=[override])

    outcome = released.tables["account"]
    assert outcome.sync.status is SyncStatus.Synced
    assert outcome.sync.classification is not None
    assert outcome.sync.classification.deleted == 11
    assert outcome.ok and outcome.checkpoint is not None
    rows = bronze_rows(lakehouse, "account")
    assert {k: (rows[k]["IsDeleted"], rows[k]["IsPurged"]) for k in dropped} == {
        k: (True, False) for k in dropped
    }
    assert released.batch.checkpoint.status == "Validated"
    audit = store.rows(
        MetadataTable.SyncAuditLog,
        equals={"PipelineRunId": released.run_id, "OperationType": "SyncOverride"},
    )
    assert len(audit) == 1
    row = audit[0]
    assert (row["TableName"], row["Status"]) == ("account", "Succeeded")
    assert (row["ApprovedBy"], row["Reason"]) == (
        "head.of.data@example.org",
        "CRM cleanup of test accounts",
    )
    assert json.loads(row["DetailsJson"]) == {
        "approved_by": "head.of.data@example.org",
        "reason": "CRM cleanup of test accounts",
    }


def test_pending_purge_exempts_the_table_from_the_guard(
    lakehouse: Lakehouse,
    store: MetadataStore,
    leases: LeaseStore,
    landing: Path,
    synced_day0: DemoManifest,
) -> None:
    day0, day1 = synced_day0.days[:2]
    audit = AuditTrail(store, "purge-run")
    record_purge(
        lakehouse,
        store,
        audit,
        PurgeRequest(("account",), day1, None, "annual purge", "dpo@example.org"),
    )
    audit.flush()
    dropped = drop_rows(landing, "account", day1, 30, present_on=day0)

    result = day1_sync(lakehouse, store, leases, landing, synced_day0)

    outcome = result.tables["account"]
    assert outcome.sync.status is SyncStatus.Synced
    assert outcome.sync.classification is not None
    assert (outcome.sync.classification.purged, outcome.sync.classification.deleted) == (30, 0)
    rows = bronze_rows(lakehouse, "account")
    assert {(rows[k]["IsDeleted"], rows[k]["IsPurged"]) for k in dropped} == {(False, True)}
    assert result.batch.checkpoint.status == "Validated"


def test_a_held_table_is_not_written_even_when_the_batch_needs_more_retention(
    lakehouse: Lakehouse,
    store: MetadataStore,
    leases: LeaseStore,
    landing: Path,
    synced_day0: DemoManifest,
) -> None:
    day0, day1 = synced_day0.days[:2]
    uri = lakehouse.bronze_uri("account")
    lakehouse.engine.set_properties(uri, {"delta.deletedFileRetentionDuration": "interval 1 days"})
    drop_rows(landing, "account", day1, 11, present_on=day0)
    log_before = delta_log_snapshot(lakehouse, "account")

    result = day1_sync(lakehouse, store, leases, landing, synced_day0)

    assert result.tables["account"].sync.status is SyncStatus.Held
    assert delta_log_snapshot(lakehouse, "account") == log_before
    assert result.batch.checkpoint.status == "Failed"
    assert "account" in [p.table for p in result.batch.checkpoint.tables]
    assert not store.rows(
        MetadataTable.SyncAuditLog,
        equals={"PipelineRunId": result.run_id, "OperationType": "TableRetentionAdjusted"},
    )
