"""The purge pipeline: validated inputs, a PrePurge checkpoint, then the pending purge recorded."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from recovery_platform.domain.checkpoints.history import Checkpoint
from recovery_platform.domain.checkpoints.retention import FILE_RETENTION, LOG_RETENTION
from recovery_platform.domain.lakehouse.audit import Actor, AuditTrail
from recovery_platform.domain.lakehouse.errors import InvalidInputError
from recovery_platform.domain.lakehouse.fault_injection import CRASH_ENV, InjectedCrash
from recovery_platform.domain.lakehouse.lease import LeaseStore
from recovery_platform.domain.lakehouse.location import Lakehouse
from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable
from recovery_platform.domain.lakehouse.metadata_store import MetadataStore
from recovery_platform.domain.purge.record import record_purge, validate_purge_request
from recovery_platform_tests.domain.extracts import (
    bronze_rows,
    keys,
    land_keys,
    land_small_crm,
    metadata_versions,
)
from recovery_platform_tests.domain.site import Site, make_site
from recovery_platform_tests.domain.sync_runs import sync_run

TODAY = date(2026, 6, 10)
SYNCED = date(2026, 6, 8)
PURGE = date(2026, 6, 12)
TABLES = ("account", "contact")


@pytest.fixture
def synced(
    lakehouse: Lakehouse, store: MetadataStore, leases: LeaseStore, landing: Path
) -> Lakehouse:
    land_small_crm(landing, SYNCED)
    sync_run(lakehouse, store, leases, landing, SYNCED)
    return lakehouse


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Site:
    """A synced lakehouse for tests that must change nothing."""
    site = make_site(tmp_path_factory.mktemp("purge"))
    land_small_crm(site.landing, SYNCED)
    sync_run(site.lakehouse, site.store, site.leases, site.landing, SYNCED)
    return site


def purge(lakehouse: Lakehouse, store: MetadataStore, run_id: str, **changes: Any) -> Checkpoint:
    """Validate and record a purge as the Dagster op does: audit flushed even on failure."""
    inputs: dict[str, Any] = {
        "tables": list(TABLES),
        "purge_date": PURGE.isoformat(),
        "cutoff_date": None,
        "reason": "annual GDPR purge",
        "requested_by": "dpo@example.org",
        "today": TODAY,
    }
    inputs.update(changes)
    request = validate_purge_request(lakehouse, store, **inputs)
    audit = AuditTrail(
        store, run_id, Actor(requested_by=request.requested_by, reason=request.reason)
    )
    try:
        return record_purge(lakehouse, store, audit, request)
    finally:
        audit.flush()


def config_rows(store: MetadataStore) -> dict[str, dict[str, Any]]:
    return {r["TableName"]: r for r in store.rows(MetadataTable.PipelineConfig)}


def pre_purge_checkpoints(store: MetadataStore) -> list[dict[str, Any]]:
    return store.rows(MetadataTable.CheckpointHistory, equals={"CheckpointType": "PrePurge"})


def test_purge_records_checkpoint_then_pending_purge(
    synced: Lakehouse, store: MetadataStore
) -> None:
    versions = {t: synced.engine.state(synced.bronze_uri(t)).version for t in TABLES}
    checkpoint = purge(synced, store, "purge-1", cutoff_date="2022-01-01")

    rows = config_rows(store)
    for table in TABLES:
        row = rows[table]
        assert row["LastPurgeDate"] == PURGE
        assert row["PurgeCutoffDate"] == date(2022, 1, 1)
        assert (row["PurgePending"], row["PurgeStatus"]) == (True, "Recorded")
        assert row["PurgeCheckpointId"] == checkpoint.checkpoint_id
        properties = synced.engine.get_properties(synced.bronze_uri(table))
        assert properties[LOG_RETENTION] == properties[FILE_RETENTION] == "interval 365 days"
    for table in ("donation", "activitypointer"):
        assert (rows[table]["PurgePending"], rows[table]["PurgeStatus"]) == (None, None)

    (parent,) = pre_purge_checkpoints(store)
    assert parent["CheckpointId"] == checkpoint.checkpoint_id
    assert parent["CheckpointName"] == f"pre_purge_{PURGE:%Y-%m-%d}"
    assert (parent["ValidationStatus"], parent["RequestedBy"]) == ("Validated", "dpo@example.org")
    assert (parent["RetentionDate"] - parent["CreatedDate"].date()).days == 365
    assert parent["TablesIncluded"] == 2
    assert {p.table: p.version for p in checkpoint.tables} == versions

    audit = store.rows(MetadataTable.SyncAuditLog, equals={"PipelineRunId": "purge-1"})
    recorded = [r for r in audit if r["OperationType"] == "PurgeRecorded"]
    assert len(recorded) == 1
    assert (recorded[0]["Status"], recorded[0]["CheckpointId"]) == (
        "Succeeded",
        checkpoint.checkpoint_id,
    )
    assert (recorded[0]["RequestedBy"], recorded[0]["Reason"]) == (
        "dpo@example.org",
        "annual GDPR purge",
    )
    details = json.loads(recorded[0]["DetailsJson"])
    assert details["phase"] == "recorded" and details["tables"] == list(TABLES)
    adjusted = sorted(
        r["TableName"] for r in audit if r["OperationType"] == "TableRetentionAdjusted"
    )
    assert adjusted == sorted(TABLES)


def test_next_sync_consumes_the_purge(
    synced: Lakehouse, store: MetadataStore, leases: LeaseStore, landing: Path
) -> None:
    purge(synced, store, "purge-1")
    land_small_crm(landing, PURGE)
    land_keys(landing, "account", PURGE, keys("account", 0, 17))
    land_keys(landing, "contact", PURGE, keys("contact", 0, 19))

    result = sync_run(synced, store, leases, landing, PURGE)

    account, contact = result.tables["account"].sync, result.tables["contact"].sync
    assert account.classification is not None and contact.classification is not None
    assert (account.classification.purged, account.classification.deleted) == (3, 0)
    assert (contact.classification.purged, contact.classification.deleted) == (1, 0)
    assert account.purge_consumed and contact.purge_consumed
    rows = bronze_rows(synced, "account")
    assert {(rows[k]["IsDeleted"], rows[k]["IsPurged"]) for k in keys("account", 17, 20)} == {
        (False, True)
    }
    config = config_rows(store)
    for table in TABLES:
        assert (config[table]["PurgePending"], config[table]["PurgeStatus"]) == (False, "Consumed")
        assert config[table]["LastSyncDate"] == PURGE


@pytest.mark.parametrize("point", ["purge.after_pending", "purge.after_checkpoint"])
def test_rerun_after_a_crash_completes_with_one_checkpoint_and_explains_both_runs(
    synced: Lakehouse, store: MetadataStore, monkeypatch: pytest.MonkeyPatch, point: str
) -> None:
    monkeypatch.setenv(CRASH_ENV, point)
    with pytest.raises(InjectedCrash):
        purge(synced, store, "purge-crashed")
    assert {config_rows(store)[t]["PurgeStatus"] for t in TABLES} == {"Pending"}
    assert not any(config_rows(store)[t]["PurgePending"] for t in TABLES)
    monkeypatch.delenv(CRASH_ENV)

    checkpoint = purge(synced, store, "purge-rerun")

    (parent,) = pre_purge_checkpoints(store)
    assert parent["CheckpointId"] == checkpoint.checkpoint_id
    rows = config_rows(store)
    for table in TABLES:
        assert (rows[table]["PurgePending"], rows[table]["PurgeStatus"]) == (True, "Recorded")
        assert rows[table]["LastPurgeDate"] == PURGE
        assert rows[table]["PurgeCheckpointId"] == checkpoint.checkpoint_id
    audit = store.rows(MetadataTable.SyncAuditLog, equals={"OperationType": "PurgeRecorded"})
    by_run = {r["PipelineRunId"]: r for r in audit}
    assert set(by_run) == {"purge-crashed", "purge-rerun"}
    crashed, rerun = by_run["purge-crashed"], by_run["purge-rerun"]
    assert crashed["Status"] == "Failed"
    assert f"injected crash at {point}" in crashed["ErrorMessage"]
    assert json.loads(crashed["DetailsJson"])["phase"] == "pending"
    assert rerun["Status"] == "Succeeded"
    assert json.loads(rerun["DetailsJson"])["phase"] == "recorded"
    reused = json.loads(rerun["DetailsJson"]).get("reused_checkpoint")
    if point == "purge.after_checkpoint":
        assert crashed["CheckpointId"] == reused == checkpoint.checkpoint_id
    else:
        assert crashed["CheckpointId"] is None and reused is None


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"tables": ["account", "campaign"]}, "tables", "unknown table 'campaign'"),
        ({"tables": []}, "tables", "list at least one table"),
        ({"purge_date": "2026-13-01"}, "purge_date", "not a date in the form YYYY-MM-DD"),
        ({"purge_date": "12/06/2026"}, "purge_date", "not a date in the form YYYY-MM-DD"),
        ({"purge_date": "2026-06-07"}, "purge_date", "before the last sync of account"),
        ({"purge_date": "2026-07-11"}, "purge_date", "more than 30 days ahead of 2026-06-10"),
        ({"requested_by": "  "}, "requested_by", "must name the person"),
        ({"cutoff_date": "last year"}, "cutoff_date", "not a date in the form YYYY-MM-DD"),
    ],
    ids=["unknown-table", "no-table", "bad-month", "not-iso", "before-last-sync",
         "too-far-ahead", "empty-requested-by", "bad-cutoff"],
)  # fmt: skip
def test_bad_inputs_are_refused_naming_the_field_and_change_nothing(
    shared: Site, changes: dict[str, Any], field: str, words: str
) -> None:
    synced, store = shared.lakehouse, shared.store
    before = metadata_versions(synced)
    bronze = {t: synced.engine.state(synced.bronze_uri(t)).version for t in TABLES}

    with pytest.raises(InvalidInputError) as refused:
        purge(synced, store, "purge-bad", **changes)

    message = str(refused.value)
    assert message.startswith(f"field '{field}': ")
    assert words in message and message.endswith("Nothing was changed.")
    if field == "tables":
        assert "allowed: account, contact, donation, activitypointer" in message
    assert metadata_versions(synced) == before
    assert {t: synced.engine.state(synced.bronze_uri(t)).version for t in TABLES} == bronze


def test_the_limits_themselves_are_accepted(synced: Lakehouse, store: MetadataStore) -> None:
    on_last_sync = purge(synced, store, "purge-a", purge_date=SYNCED.isoformat())
    thirty_ahead = purge(
        synced, store, "purge-b", purge_date=(TODAY + timedelta(days=30)).isoformat()
    )
    assert on_last_sync.name == f"pre_purge_{SYNCED:%Y-%m-%d}"
    assert thirty_ahead.name == f"pre_purge_{TODAY + timedelta(days=30):%Y-%m-%d}"


def test_rerunning_a_completed_purge_changes_nothing(
    synced: Lakehouse, store: MetadataStore
) -> None:
    first = purge(synced, store, "purge-1", cutoff_date="2022-01-01")
    versions = {t: store.engine.state(store.lakehouse.metadata_uri(t)).version
                for t in (MetadataTable.PipelineConfig, MetadataTable.CheckpointHistory)}

    again = purge(synced, store, "purge-2", cutoff_date="2022-01-01")

    assert again.checkpoint_id == first.checkpoint_id
    assert len(pre_purge_checkpoints(store)) == 1
    assert versions == {t: store.engine.state(store.lakehouse.metadata_uri(t)).version
                        for t in versions}
    (rerun,) = [r for r in store.rows(MetadataTable.SyncAuditLog,
                                      equals={"PipelineRunId": "purge-2"})
                if r["OperationType"] == "PurgeRecorded"]
    assert rerun["CheckpointId"] == first.checkpoint_id
    assert json.loads(rerun["DetailsJson"])["phase"] == "already recorded; nothing written"
