"""Zero-tolerance invariants: each one fails on a real table built to violate it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest

from recovery_platform.domain.lakehouse.lease import LeaseStore
from recovery_platform.domain.lakehouse.location import Lakehouse
from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable
from recovery_platform.domain.lakehouse.metadata_store import MetadataStore
from recovery_platform.domain.sync.table import SyncStatus
from recovery_platform.domain.sync.validation import Invariant, validate_table
from recovery_platform_tests.domain.extracts import extract_rows, keys, land, land_small_crm
from recovery_platform_tests.domain.site import Site, make_site
from recovery_platform_tests.domain.sync_runs import SyncRunResult, sync_run
from recovery_platform_tests.domain.violations import (
    BOTH_FLAGS_KEY,
    EXTRA_COLUMN,
    ORPHAN_ACCOUNT,
    break_every_invariant,
    prepare_clean_day,
)

D1, D2 = date(2026, 3, 1), date(2026, 3, 2)


@dataclass(frozen=True)
class Broken:
    """A lakehouse whose tables each break an invariant, and the day-2 run that found them."""

    site: Site
    run: SyncRunResult

    @property
    def lakehouse(self) -> Lakehouse:
        return self.site.lakehouse


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> Broken:
    site = make_site(tmp_path_factory.mktemp("violations"))
    prepare_clean_day(site.lakehouse, site.landing, D1)
    first = sync_run(site.lakehouse, site.store, site.leases, site.landing, D1)
    assert all(o.ok for o in first.tables.values())
    assert first.batch.checkpoint.status == "Validated"
    break_every_invariant(site.lakehouse, site.landing, D2)
    return Broken(site, sync_run(site.lakehouse, site.store, site.leases, site.landing, D2))


def failed(lakehouse: Lakehouse, table: str) -> set[Invariant]:
    return {r.invariant for r in validate_table(lakehouse, table).results if not r.passed}


def test_clean_tables_pass_every_invariant(
    lakehouse: Lakehouse, store: MetadataStore, leases: LeaseStore, landing: Path
) -> None:
    land_small_crm(landing, D1)
    sync_run(lakehouse, store, leases, landing, D1)
    for table in lakehouse.config.table_names:
        validation = validate_table(lakehouse, table)
        assert validation.passed, validation.failures
        assert [r.invariant for r in validation.results] == list(Invariant)


def test_row_both_deleted_and_purged_fails_both_tracking_invariants(broken: Broken) -> None:
    lakehouse = broken.lakehouse
    validation = validate_table(lakehouse, "account")
    assert failed(lakehouse, "account") == {
        Invariant.tracking_counts_consistent,
        Invariant.tracking_columns_consistent,
    }
    counts = validation.result(Invariant.tracking_counts_consistent)
    assert (counts.violations, counts.sample_keys) == (1, (BOTH_FLAGS_KEY,))
    assert counts.actual == "20 + 0 + 0 = 20"
    assert counts.expected == "active + deleted + purged = total (21)"
    columns = validation.result(Invariant.tracking_columns_consistent)
    assert (columns.violations, columns.sample_keys) == (1, (BOTH_FLAGS_KEY,))


def test_null_primary_key_fails_no_null_primary_keys(broken: Broken) -> None:
    lakehouse = broken.lakehouse
    result = validate_table(lakehouse, "contact").result(Invariant.no_null_primary_keys)
    assert failed(lakehouse, "contact") == {Invariant.no_null_primary_keys}
    assert (result.passed, result.violations, result.actual) == (False, 1, "1 null keys")


def test_undeclared_column_fails_schema_as_declared(broken: Broken) -> None:
    lakehouse = broken.lakehouse
    result = validate_table(lakehouse, "activitypointer").result(Invariant.schema_as_declared)
    assert failed(lakehouse, "activitypointer") == {Invariant.schema_as_declared}
    assert (result.violations, result.actual) == (1, f"undeclared {EXTRA_COLUMN}")


def test_missing_column_fails_schema_as_declared(
    lakehouse: Lakehouse, store: MetadataStore, leases: LeaseStore, landing: Path
) -> None:
    land_small_crm(landing, D1)
    sync_run(lakehouse, store, leases, landing, D1, tables=["account"])
    uri = lakehouse.bronze_uri("account")
    lakehouse.engine.overwrite(uri, lakehouse.engine.read(uri).drop_columns(["city"]))

    result = validate_table(lakehouse, "account").result(Invariant.schema_as_declared)

    assert failed(lakehouse, "account") == {Invariant.schema_as_declared}
    assert (result.violations, result.actual) == (1, "missing city")


def test_orphan_in_error_relation_fails_and_warn_relation_is_only_reported(broken: Broken) -> None:
    lakehouse = broken.lakehouse
    result = validate_table(lakehouse, "donation").result(Invariant.referential_integrity)
    assert failed(lakehouse, "donation") == {Invariant.referential_integrity}
    assert (result.violations, result.sample_keys) == (1, (ORPHAN_ACCOUNT,))
    assert result.actual == "accountid -> account: 1 orphans"
    assert result.warnings == ("contactid -> contact: 1 orphans",)
    assert result.details == {"accountid -> account": 1, "contactid -> contact": 1}


def test_warn_relation_alone_does_not_fail(
    lakehouse: Lakehouse, store: MetadataStore, leases: LeaseStore, landing: Path
) -> None:
    land_small_crm(landing, D1)
    ids = keys("donation", 0, 3)
    contacts = ["contact-0000", "contact-0001", "contact-9999"]
    land(landing, "donation", D1, extract_rows("donation", ids, parents={"contactid": contacts}))
    result = sync_run(lakehouse, store, leases, landing, D1)

    integrity = validate_table(lakehouse, "donation").result(Invariant.referential_integrity)
    assert integrity.passed and integrity.violations == 0
    assert integrity.warnings == ("contactid -> contact: 1 orphans",)
    assert result.tables["donation"].ok
    assert result.batch.checkpoint.status == "Validated"


def test_failing_invariants_leave_the_batch_recorded_but_not_validated(broken: Broken) -> None:
    store, run = broken.site.store, broken.run
    bad = {"account", "contact", "donation", "activitypointer"}
    assert {t for t, o in run.tables.items() if not o.ok} == bad
    assert all(run.tables[t].sync.status is not SyncStatus.Failed for t in bad)
    batch = store.rows(
        MetadataTable.CheckpointHistory,
        equals={"PipelineRunId": run.run_id, "CheckpointType": "DailyBatch"},
    )
    assert len(batch) == 1
    assert batch[0]["ValidationStatus"] == "Failed"
    assert batch[0]["TablesIncluded"] == 4
    for table in bad:
        assert f"{table}: validation failed" in batch[0]["Notes"]
    pins = store.rows(
        MetadataTable.CheckpointTables, equals={"CheckpointId": batch[0]["CheckpointId"]}
    )
    assert {p["TableName"]: p["ValidationStatus"] for p in pins} == dict.fromkeys(bad, "Failed")
    assert not store.rows(
        MetadataTable.CheckpointHistory,
        equals={"PipelineRunId": run.run_id, "CheckpointType": "Daily"},
    )
    rows = store.rows(MetadataTable.DataValidation, equals={"PipelineRunId": run.run_id})
    assert len(rows) == 4 * len(Invariant)
    failures = {(r["TableName"], r["ValidationType"]) for r in rows if not r["ValidationPassed"]}
    assert failures == {
        ("account", "tracking_counts_consistent"),
        ("account", "tracking_columns_consistent"),
        ("contact", "no_null_primary_keys"),
        ("activitypointer", "schema_as_declared"),
        ("donation", "referential_integrity"),
    }
    alerts = store.rows(MetadataTable.Alerts, equals={"PipelineRunId": run.run_id})
    assert sorted((a["AlertType"], a["TableName"]) for a in alerts) == sorted(
        ("ValidationFailed", t) for t in bad
    )
    audited = store.rows(MetadataTable.SyncAuditLog,
                         equals={"PipelineRunId": run.run_id, "OperationType": "ValidationAlert"})
    assert sorted(a["TableName"] for a in audited) == sorted(bad)
    assert all(json.loads(a["DetailsJson"])["reasons"] for a in audited)


def test_null_key_in_an_extract_fails_that_tables_sync_and_writes_nothing(
    lakehouse: Lakehouse, store: MetadataStore, leases: LeaseStore, landing: Path
) -> None:
    land_small_crm(landing, D1)
    sync_run(lakehouse, store, leases, landing, D1)
    land_small_crm(landing, D2)
    uri = lakehouse.bronze_uri("account")
    version = lakehouse.engine.state(uri).version
    clean = extract_rows("account", keys("account", 0, 20))
    relaxed = pa.schema([f.with_nullable(True) for f in clean.schema])
    null_key = {**clean.to_pylist()[0], "accountid": None}
    land(landing, "account", D2, pa.Table.from_pylist([*clean.to_pylist(), null_key], relaxed))

    result = sync_run(lakehouse, store, leases, landing, D2)

    assert result.tables["account"].sync.status is SyncStatus.Failed
    assert lakehouse.engine.state(uri).version == version
    assert all(result.tables[t].ok for t in ("contact", "donation", "activitypointer"))
    assert result.batch.checkpoint.status == "Failed"
