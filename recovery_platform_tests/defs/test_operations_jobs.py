"""`purge_metadata_job` and `manual_checkpoint_job` run in process on a real lakehouse."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from recovery_platform.definitions import defs
from recovery_platform.defs.resources import LakehouseResource, SourceResource
from recovery_platform.domain.checkpoints.retention import FILE_RETENTION, LOG_RETENTION
from recovery_platform.domain.lakehouse.fault_injection import CRASH_ENV
from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable
from recovery_platform_tests.defs.run_results import failure_text
from recovery_platform_tests.domain.extracts import (
    bronze_rows,
    keys,
    land_keys,
    land_small_crm,
    metadata_versions,
)
from recovery_platform_tests.domain.site import Site, copy_site, make_site

TODAY = datetime.now(UTC).date()
LAST_SYNC = TODAY - timedelta(days=2)
PURGE_DAY = TODAY - timedelta(days=1)
ALLOWED = "allowed: account, contact, donation, activitypointer"


def resources(site: Site) -> dict[str, Any]:
    return {
        "lakehouse": LakehouseResource(root=site.lakehouse.root),
        "source": SourceResource(landing_root=str(site.landing)),
    }


def run_job(site: Site, job: str, op: str, config: dict[str, Any]) -> dg.ExecuteInProcessResult:
    return defs.resolve_job_def(job).execute_in_process(
        run_config={"ops": {op: {"config": config}}},
        resources=resources(site),
        raise_on_error=False,
    )


def run_sync(site: Site, day: date) -> dg.ExecuteInProcessResult:
    config = {"sync_date": day.isoformat(), "requested_by": "pytest"}
    return run_job(site, "daily_sync_job", "daily_sync", config)


def run_purge(site: Site, **changes: Any) -> dg.ExecuteInProcessResult:
    config: dict[str, Any] = {
        "tables": ["account", "contact"],
        "purge_date": PURGE_DAY.isoformat(),
        "reason": "annual GDPR purge",
        "requested_by": "dpo@example.org",
    }
    config.update(changes)
    return run_job(site, "purge_metadata_job", "record_purge_metadata", config)


def run_manual(site: Site, **changes: Any) -> dg.ExecuteInProcessResult:
    config: dict[str, Any] = {
        "checkpoint_name": "before_crm_upgrade",
        "tables": ["account", "donation"],
        "reason": "CRM upgrade tonight",
        "requested_by": "ops@example.org",
    }
    config.update(changes)
    return run_job(site, "manual_checkpoint_job", "manual_checkpoint", config)


def config_rows(site: Site) -> dict[str, dict[str, Any]]:
    return {r["TableName"]: r for r in site.store.rows(MetadataTable.PipelineConfig)}


def bronze_versions(site: Site) -> dict[str, int]:
    engine = site.lakehouse.engine
    return {
        t: engine.state(site.lakehouse.bronze_uri(t)).version
        for t in site.lakehouse.config.table_names
    }


def pre_purge(site: Site) -> list[dict[str, Any]]:
    return site.store.rows(MetadataTable.CheckpointHistory, equals={"CheckpointType": "PrePurge"})


@pytest.fixture(scope="module")
def untouched(tmp_path_factory: pytest.TempPathFactory) -> Site:
    """A lakehouse synced by the job, for refused runs; tests that write use `synced`."""
    site = make_site(tmp_path_factory.mktemp("synced"))
    land_small_crm(site.landing, LAST_SYNC)
    assert run_sync(site, LAST_SYNC).success
    return site


@pytest.fixture
def synced(untouched: Site, tmp_path: Path) -> Site:
    """A private copy of the synced lakehouse."""
    return copy_site(untouched, tmp_path)


def test_purge_job_records_the_purge_and_the_next_sync_consumes_it(synced: Site) -> None:
    result = run_purge(synced)

    assert result.success
    checkpoint_id = result.output_for_node("record_purge_metadata")
    rows = config_rows(synced)
    for table in ("account", "contact"):
        row = rows[table]
        assert (row["LastPurgeDate"], row["PurgePending"], row["PurgeStatus"]) == (
            PURGE_DAY,
            True,
            "Recorded",
        )
        assert row["PurgeCheckpointId"] == checkpoint_id
        properties = synced.lakehouse.engine.get_properties(synced.lakehouse.bronze_uri(table))
        assert properties[LOG_RETENTION] == properties[FILE_RETENTION] == "interval 365 days"
    (parent,) = pre_purge(synced)
    assert parent["CheckpointId"] == checkpoint_id
    assert (parent["RetentionDate"] - parent["CreatedDate"].date()).days == 365
    assert (parent["RequestedBy"], parent["PipelineRunId"]) == ("dpo@example.org", result.run_id)
    (audit,) = synced.store.rows(
        MetadataTable.SyncAuditLog,
        equals={"PipelineRunId": result.run_id, "OperationType": "PurgeRecorded"},
    )
    assert (audit["Status"], audit["CheckpointId"], audit["RequestedBy"], audit["Reason"]) == (
        "Succeeded",
        checkpoint_id,
        "dpo@example.org",
        "annual GDPR purge",
    )

    land_small_crm(synced.landing, PURGE_DAY)
    land_keys(synced.landing, "account", PURGE_DAY, keys("account", 0, 16))
    sync = run_sync(synced, PURGE_DAY)

    assert sync.success
    rows = config_rows(synced)
    for table in ("account", "contact"):
        assert (rows[table]["PurgePending"], rows[table]["PurgeStatus"]) == (False, "Consumed")
    account = bronze_rows(synced.lakehouse, "account")
    assert {(account[k]["IsDeleted"], account[k]["IsPurged"]) for k in keys("account", 16, 20)} == {
        (False, True)
    }
    meta = {
        e.asset_key.path[-1]: {k: v.value for k, v in e.materialization.metadata.items()}
        for e in sync.get_asset_materialization_events()
    }
    assert (meta["account"]["newly_purged"], meta["account"]["newly_deleted"]) == (4, 0)
    (consumed,) = synced.store.rows(
        MetadataTable.SyncAuditLog,
        equals={"PipelineRunId": sync.run_id, "OperationType": "TableSync", "TableName": "account"},
    )
    assert json.loads(consumed["DetailsJson"])["purge_consumed"] is True


def test_purge_job_rerun_after_a_crash_completes_with_one_checkpoint(
    synced: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CRASH_ENV, "purge.after_checkpoint")
    crashed = run_purge(synced)
    assert not crashed.success
    assert "injected crash at purge.after_checkpoint" in failure_text(crashed)
    assert {config_rows(synced)[t]["PurgeStatus"] for t in ("account", "contact")} == {"Pending"}
    monkeypatch.delenv(CRASH_ENV)

    rerun = run_purge(synced)

    assert rerun.success
    (parent,) = pre_purge(synced)
    assert parent["PipelineRunId"] == crashed.run_id
    assert rerun.output_for_node("record_purge_metadata") == parent["CheckpointId"]
    rows = config_rows(synced)
    for table in ("account", "contact"):
        assert (rows[table]["PurgePending"], rows[table]["PurgeStatus"]) == (True, "Recorded")
        assert rows[table]["PurgeCheckpointId"] == parent["CheckpointId"]
    audit = synced.store.rows(MetadataTable.SyncAuditLog, equals={"OperationType": "PurgeRecorded"})
    statuses = {r["PipelineRunId"]: r["Status"] for r in audit}
    assert statuses == {crashed.run_id: "Failed", rerun.run_id: "Succeeded"}
    rerun_row = next(r for r in audit if r["PipelineRunId"] == rerun.run_id)
    assert json.loads(rerun_row["DetailsJson"])["reused_checkpoint"] == parent["CheckpointId"]


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"tables": ["account", "acount"]}, "tables", "unknown table 'acount'"),
        ({"tables": ["bronze/account"]}, "tables", "unknown table 'bronze/account'"),
        ({"purge_date": "2026-02-30"}, "purge_date", "not a date in the form YYYY-MM-DD"),
        ({"purge_date": (LAST_SYNC - timedelta(days=1)).isoformat()}, "purge_date",
         "before the last sync of account"),
        ({"purge_date": (TODAY + timedelta(days=31)).isoformat()}, "purge_date",
         "more than 30 days ahead"),
        ({"requested_by": ""}, "requested_by", "must name the person"),
    ],
    ids=["unknown-table", "path-as-table", "malformed-date", "before-last-sync", "too-far-ahead",
         "empty-requested-by"],
)  # fmt: skip
def test_purge_job_refuses_bad_inputs_naming_the_field_and_changes_nothing(
    untouched: Site, changes: dict[str, Any], field: str, words: str
) -> None:
    before, bronze = metadata_versions(untouched.lakehouse), bronze_versions(untouched)

    result = run_purge(untouched, **changes)

    assert not result.success
    text = failure_text(result)
    assert f"field '{field}': " in text and words in text and "Nothing was changed." in text
    if field == "tables":
        assert ALLOWED in text
    assert metadata_versions(untouched.lakehouse) == before
    assert bronze_versions(untouched) == bronze


@pytest.mark.parametrize("tables", [["acount"], ["account", "CheckpointHistory"], ["account", ""]])
def test_manual_checkpoint_job_refuses_unknown_tables_and_changes_nothing(
    untouched: Site, tables: list[str]
) -> None:
    before, bronze = metadata_versions(untouched.lakehouse), bronze_versions(untouched)

    result = run_manual(untouched, tables=tables)

    assert not result.success
    text = failure_text(result)
    assert "field 'tables': unknown table" in text and ALLOWED in text
    assert metadata_versions(untouched.lakehouse) == before
    assert bronze_versions(untouched) == bronze


def test_manual_checkpoint_job_with_long_term_retention(synced: Site) -> None:
    result = run_manual(synced, long_term=True)

    assert result.success
    checkpoint_id = result.output_for_node("manual_checkpoint")
    (parent,) = synced.store.rows(
        MetadataTable.CheckpointHistory, equals={"CheckpointId": checkpoint_id}
    )
    assert (parent["CheckpointType"], parent["CheckpointName"], parent["LongTerm"]) == (
        "Manual",
        "before_crm_upgrade",
        True,
    )
    assert (parent["RetentionDate"] - parent["CreatedDate"].date()).days == 3650
    assert (parent["RequestedBy"], parent["ValidationStatus"]) == ("ops@example.org", "Validated")
    for table in ("account", "donation"):
        properties = synced.lakehouse.engine.get_properties(synced.lakehouse.bronze_uri(table))
        assert properties[LOG_RETENTION] == properties[FILE_RETENTION] == "interval 3650 days"
    (event,) = [e for e in result.all_events if e.event_type is dg.DagsterEventType.STEP_OUTPUT]
    metadata = {k: v.value for k, v in event.step_output_data.metadata.items()}
    assert metadata["retention_date"] == str(parent["RetentionDate"])
    (audit,) = synced.store.rows(
        MetadataTable.SyncAuditLog,
        equals={"PipelineRunId": result.run_id, "OperationType": "ManualCheckpoint"},
    )
    assert (audit["CheckpointId"], audit["RequestedBy"], audit["Reason"]) == (
        checkpoint_id,
        "ops@example.org",
        "CRM upgrade tonight",
    )
