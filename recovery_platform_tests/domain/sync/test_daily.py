"""One table's failure never stops the others, and the run's trail says what happened."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from recovery_platform.domain.lakehouse.lease import LeaseStore
from recovery_platform.domain.lakehouse.location import Lakehouse
from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable
from recovery_platform.domain.lakehouse.metadata_store import MetadataStore
from recovery_platform.domain.sync.table import SyncStatus
from recovery_platform_tests.domain.extracts import land_small_crm
from recovery_platform_tests.domain.sync_runs import sync_run

D1, D2 = date(2026, 9, 1), date(2026, 9, 2)


def test_a_missing_extract_fails_only_its_table(
    lakehouse: Lakehouse, store: MetadataStore, leases: LeaseStore, landing: Path
) -> None:
    land_small_crm(landing, D1)
    sync_run(lakehouse, store, leases, landing, D1)
    land_small_crm(landing, D2)
    (landing / "contact" / f"{D2.isoformat()}.parquet").unlink()

    result = sync_run(lakehouse, store, leases, landing, D2)

    contact = result.tables["contact"]
    assert contact.sync.status is SyncStatus.Failed
    assert contact.problem == (
        f"ExtractNotFoundError: no extract of table 'contact' for {D2.isoformat()}; "
        f"available dates: {D1.isoformat()}"
    )
    assert all(result.tables[t].ok for t in ("account", "donation", "activitypointer"))
    (alert,) = store.rows(MetadataTable.Alerts, equals={"PipelineRunId": result.run_id})
    assert (alert["AlertType"], alert["TableName"], alert["Severity"]) == (
        "SyncFailed",
        "contact",
        "CRITICAL",
    )
    (failed,) = store.rows(
        MetadataTable.SyncAuditLog,
        equals={"PipelineRunId": result.run_id, "TableName": "contact"},
    )
    assert (failed["OperationType"], failed["Status"]) == ("TableSync", "Failed")
    assert result.batch.checkpoint.status == "Failed"
    assert [p.table for p in result.batch.checkpoint.tables] == [
        "account",
        "donation",
        "activitypointer",
    ]
    progress = {r["TableName"]: r["LastSyncDate"] for r in store.rows(MetadataTable.PipelineConfig)}
    assert progress == {"account": D2, "contact": D1, "donation": D2, "activitypointer": D2}


def test_a_table_leased_by_another_run_is_not_written(
    lakehouse: Lakehouse, store: MetadataStore, leases: LeaseStore, landing: Path
) -> None:
    land_small_crm(landing, D1)
    sync_run(lakehouse, store, leases, landing, D1)
    land_small_crm(landing, D2)
    uri = lakehouse.bronze_uri("donation")
    version = lakehouse.engine.state(uri).version

    with leases.hold("donation", "other-run"):
        result = sync_run(lakehouse, store, leases, landing, D2)

    donation = result.tables["donation"]
    assert donation.sync.status is SyncStatus.Failed
    assert donation.problem is not None
    assert "table donation is being written by run other-run" in donation.problem
    assert lakehouse.engine.state(uri).version == version
    assert all(result.tables[t].ok for t in ("account", "contact", "activitypointer"))
    assert leases.holder("donation") is None
    assert all(leases.holder(t) is None for t in lakehouse.config.table_names)


def test_every_audit_row_of_a_run_carries_its_run_id_and_requester(
    lakehouse: Lakehouse, store: MetadataStore, leases: LeaseStore, landing: Path
) -> None:
    land_small_crm(landing, D1)
    result = sync_run(lakehouse, store, leases, landing, D1, run_id="run-0001")

    rows = store.rows(MetadataTable.SyncAuditLog)
    assert {r["PipelineRunId"] for r in rows} == {"run-0001"}
    assert {r["RequestedBy"] for r in rows} == {"pytest"}
    operations = sorted((r["OperationType"], r["TableName"] or "") for r in rows)
    tables = sorted(lakehouse.config.table_names)
    assert operations == sorted(
        [("BatchCheckpoint", "")]
        + [(op, t) for t in tables for op in ("TableSync", "BronzeValidation", "CheckpointCreated")]
    )
    sync = {r["TableName"]: r for r in rows if r["OperationType"] == "TableSync"}
    assert {t: (r["RowsRead"], r["RowsInserted"]) for t, r in sync.items()} == dict.fromkeys(
        tables, (20, 20)
    )
    assert all(r["EndTime"] >= r["StartTime"] for r in rows)
    assert result.batch.checkpoint.status == "Validated"
