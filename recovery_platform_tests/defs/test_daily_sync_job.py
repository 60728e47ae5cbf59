"""`daily_sync_job` run in process on real Delta tables: materializations, checks, guard, batch."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from recovery_platform.definitions import defs
from recovery_platform.defs.resources import LakehouseResource, SourceResource
from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable
from recovery_platform.sources import DemoManifest
from recovery_platform_tests.defs.run_results import failure_text
from recovery_platform_tests.domain.extracts import delta_log_snapshot, drop_rows, metadata_versions
from recovery_platform_tests.domain.site import Site, copy_site, demo, make_site
from recovery_platform_tests.domain.violations import (
    BOTH_FLAGS_KEY,
    EXTRA_COLUMN,
    ORPHAN_ACCOUNT,
    break_every_invariant,
    prepare_clean_day,
)

TABLES = ("account", "contact", "donation", "activitypointer")
BATCH = dg.AssetKey(["checkpoints", "daily_batch"])
INVARIANTS = (
    "tracking_counts_consistent",
    "no_null_primary_keys",
    "unique_primary_key",
    "schema_as_declared",
    "tracking_columns_consistent",
    "referential_integrity",
)


def bronze(table: str) -> dg.AssetKey:
    return dg.AssetKey(["bronze", table])


def run_sync(
    site: Site, day: date, *, overrides: list[dict[str, str]] | None = None
) -> dg.ExecuteInProcessResult:
    config: dict[str, Any] = {"sync_date": day.isoformat(), "requested_by": "pytest"}
    if overrides is not None:
        config["overrides"] = overrides
    return defs.resolve_job_def("daily_sync_job").execute_in_process(
        run_config={"ops": {"daily_sync": {"config": config}}},
        resources={
            "lakehouse": LakehouseResource(root=site.lakehouse.root),
            "source": SourceResource(landing_root=str(site.landing)),
        },
        raise_on_error=False,
    )


def materialized(result: dg.ExecuteInProcessResult) -> dict[dg.AssetKey, dict[str, Any]]:
    return {
        e.asset_key: {k: v.value for k, v in e.materialization.metadata.items()}
        for e in result.get_asset_materialization_events()
    }


def checks(result: dg.ExecuteInProcessResult) -> dict[tuple[str, str], dg.AssetCheckEvaluation]:
    return {(e.asset_key.path[-1], e.check_name): e for e in result.get_asset_check_evaluations()}


def run_rows(site: Site, table: MetadataTable, result: dg.ExecuteInProcessResult, **equals: Any):
    return site.store.rows(table, equals={"PipelineRunId": result.run_id, **equals})


@dataclass(frozen=True)
class DemoSite:
    site: Site
    demo: DemoManifest


@pytest.fixture
def demo_site(tmp_path: Path) -> DemoSite:
    site = make_site(tmp_path)
    return DemoSite(site, demo(site.landing, days=2))


@pytest.fixture(scope="module")
def day0_synced(tmp_path_factory: pytest.TempPathFactory) -> DemoSite:
    """Day 0 of the demo synced by the job; tests that write use a copy (`day0_copy`)."""
    site = make_site(tmp_path_factory.mktemp("day0"))
    manifest = demo(site.landing, days=2)
    assert run_sync(site, manifest.days[0]).success
    return DemoSite(site, manifest)


@pytest.fixture
def day0_copy(day0_synced: DemoSite, tmp_path: Path) -> DemoSite:
    return DemoSite(copy_site(day0_synced.site, tmp_path), day0_synced.demo)


def test_a_clean_run_materializes_every_table_with_plottable_metadata(
    demo_site: DemoSite,
) -> None:
    site, manifest = demo_site.site, demo_site.demo
    result = run_sync(site, manifest.days[0])

    assert result.success
    found = materialized(result)
    assert set(found) == {bronze(t) for t in TABLES} | {BATCH}
    for table in TABLES:
        meta = found[bronze(table)]
        rows = manifest.stats(table, manifest.days[0]).rows
        assert {k: meta[k] for k in ("total", "active", "deleted", "purged", "inserted")} == {
            "total": rows, "active": rows, "deleted": 0, "purged": 0, "inserted": rows,
        }  # fmt: skip
        assert (
            meta["version"] == site.lakehouse.engine.state(site.lakehouse.bronze_uri(table)).version
        )
        assert isinstance(meta["duration_seconds"], float) and meta["duration_seconds"] >= 0
    evaluations = checks(result)
    assert set(evaluations) == {(t, i) for t in TABLES for i in (*INVARIANTS, "checkpoint_created")}
    assert all(e.passed for e in evaluations.values())
    assert {e.check_name for e in evaluations.values()
            if e.severity is dg.AssetCheckSeverity.WARN} == {"checkpoint_created"}
    batch = found[BATCH]
    assert (batch["validation_status"], batch["tables_included"]) == ("Validated", 4)
    assert batch["total_rows"] == sum(manifest.stats(t, manifest.days[0]).rows for t in TABLES)
    (row,) = run_rows(site, MetadataTable.CheckpointHistory, result, CheckpointType="DailyBatch")
    assert (row["CheckpointId"], row["CheckpointName"]) == (
        batch["checkpoint_id"],
        batch["checkpoint_name"],
    )


def test_metadata_writes_of_one_run_are_batched_into_one_commit_per_table(
    day0_copy: DemoSite,
) -> None:
    site, days = day0_copy.site, day0_copy.demo.days
    engine = site.lakehouse.engine
    batched = (
        MetadataTable.SyncAuditLog,
        MetadataTable.DataValidation,
        MetadataTable.CheckpointHistory,
        MetadataTable.CheckpointTables,
    )
    before = {t: engine.state(site.lakehouse.metadata_uri(t)).version for t in batched}

    result = run_sync(site, days[1])

    assert result.success
    for table in batched:
        uri = site.lakehouse.metadata_uri(table)
        assert engine.state(uri).version == before[table] + 1, table
        commit = engine.history(uri, limit=1)[0]
        assert commit.operation == "WRITE"
    audit_uri = site.lakehouse.metadata_uri(MetadataTable.SyncAuditLog)
    latest = engine.read(audit_uri, equals={"PipelineRunId": result.run_id})
    earlier = engine.read(
        audit_uri,
        equals={"PipelineRunId": result.run_id},
        version=before[MetadataTable.SyncAuditLog],
    )
    assert earlier.num_rows == 0
    operations = sorted(latest.column("OperationType").to_pylist())
    assert operations.count("TableSync") == 4
    assert operations.count("BronzeValidation") == 4
    assert operations.count("CheckpointCreated") == 4
    assert operations.count("BatchCheckpoint") == 1
    assert latest.num_rows == len(operations) >= 13


def test_held_table_fails_the_run_and_an_override_in_run_config_releases_it(
    day0_copy: DemoSite,
) -> None:
    site, manifest = day0_copy.site, day0_copy.demo
    day0, day1 = manifest.days
    dropped = drop_rows(site.landing, "account", day1, 11, present_on=day0)
    log_before = delta_log_snapshot(site.lakehouse, "account")

    held = run_sync(site, day1)

    assert not held.success
    assert "account: sync of account held" in failure_text(held)
    assert delta_log_snapshot(site.lakehouse, "account") == log_before
    found = materialized(held)
    assert set(found) == {bronze(t) for t in TABLES if t != "account"} | {BATCH}
    assert found[BATCH]["validation_status"] == "Failed"
    assert found[BATCH]["tables_included"] == 4
    assert "account: sync of account held" in found[BATCH]["reasons"]
    (batch,) = run_rows(site, MetadataTable.CheckpointHistory, held, CheckpointType="DailyBatch")
    assert batch["ValidationStatus"] == "Failed" and "account" in batch["Notes"]
    (alert,) = run_rows(site, MetadataTable.Alerts, held)
    assert (alert["AlertType"], alert["TableName"]) == ("SyncHeld", "account")
    (audit,) = run_rows(site, MetadataTable.SyncAuditLog, held, OperationType="SyncHeld")
    assert (audit["TableName"], audit["Status"], audit["RowsDeleted"]) == ("account", "Held", 11)
    assert audit["RequestedBy"] == "pytest"

    override = {"table": "account", "reason": "test accounts removed", "approved_by": "cto"}
    released = run_sync(site, day1, overrides=[override])

    assert released.success
    meta = materialized(released)[bronze("account")]
    assert (meta["newly_deleted"], meta["deleted"]) == (11, 11)
    assert materialized(released)[BATCH]["validation_status"] == "Validated"
    (audit,) = run_rows(site, MetadataTable.SyncAuditLog, released, OperationType="SyncOverride")
    assert (audit["TableName"], audit["ApprovedBy"], audit["Reason"]) == (
        "account",
        "cto",
        "test accounts removed",
    )
    assert json.loads(audit["DetailsJson"]) == {
        "approved_by": "cto",
        "reason": "test accounts removed",
    }
    rows = {r["accountid"]: r for r in site.lakehouse.engine.read(
        site.lakehouse.bronze_uri("account")).to_pylist()}  # fmt: skip
    assert all(rows[k]["IsDeleted"] and not rows[k]["IsPurged"] for k in dropped)


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"table": "acount", "reason": "typo", "approved_by": "cto"}, "overrides.table"),
        ({"table": "metadata", "reason": "x", "approved_by": "cto"}, "overrides.table"),
        ({"table": "account", "reason": " ", "approved_by": "cto"}, "overrides.reason"),
        ({"table": "account", "reason": "why", "approved_by": ""}, "overrides.approved_by"),
    ],
)
def test_bad_override_is_refused_naming_the_field_and_changes_nothing(
    day0_synced: DemoSite, override: dict[str, str], field: str
) -> None:
    site, manifest = day0_synced.site, day0_synced.demo
    before = metadata_versions(site.lakehouse)
    versions = {
        t: site.lakehouse.engine.state(site.lakehouse.bronze_uri(t)).version for t in TABLES
    }

    result = run_sync(site, manifest.days[1], overrides=[override])

    assert not result.success
    text = failure_text(result)
    assert f"field '{field}': " in text and "Nothing was changed." in text
    if field == "overrides.table":
        assert f"unknown table {override['table']!r}" in text
        assert "allowed: account, contact, donation, activitypointer" in text
    assert metadata_versions(site.lakehouse) == before
    assert {
        t: site.lakehouse.engine.state(site.lakehouse.bronze_uri(t)).version for t in TABLES
    } == versions
    assert not result.get_asset_materialization_events()


def test_every_invariant_check_fails_on_a_table_built_to_violate_it(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    d1, d2 = date(2026, 3, 1), date(2026, 3, 2)
    prepare_clean_day(site.lakehouse, site.landing, d1)
    assert run_sync(site, d1).success
    break_every_invariant(site.lakehouse, site.landing, d2)

    result = run_sync(site, d2)

    assert not result.success
    evaluations = checks(result)
    failing = {key for key, e in evaluations.items() if not e.passed}
    assert failing == {
        ("account", "tracking_counts_consistent"),
        ("account", "tracking_columns_consistent"),
        ("contact", "no_null_primary_keys"),
        ("activitypointer", "schema_as_declared"),
        ("donation", "referential_integrity"),
    }
    for key in failing:
        assert evaluations[key].severity is dg.AssetCheckSeverity.ERROR
        assert evaluations[key].blocking

    def meta(table: str, check: str) -> dict[str, Any]:
        return {k: v.value for k, v in evaluations[(table, check)].metadata.items()}

    assert meta("account", "tracking_counts_consistent")["violations"] == 1
    assert meta("account", "tracking_counts_consistent")["sample_keys"] == BOTH_FLAGS_KEY
    assert meta("account", "tracking_columns_consistent")["violations"] == 1
    assert meta("account", "tracking_columns_consistent")["sample_keys"] == BOTH_FLAGS_KEY
    assert meta("contact", "no_null_primary_keys")["violations"] == 1
    assert meta("contact", "no_null_primary_keys")["actual"] == "1 null keys"
    assert meta("activitypointer", "schema_as_declared")["violations"] == 1
    assert meta("activitypointer", "schema_as_declared")["actual"] == f"undeclared {EXTRA_COLUMN}"
    integrity = meta("donation", "referential_integrity")
    assert (integrity["violations"], integrity["sample_keys"]) == (1, ORPHAN_ACCOUNT)
    assert integrity["warnings"] == "contactid -> contact: 1 orphans"
    warned = meta("activitypointer", "referential_integrity")
    assert evaluations[("activitypointer", "referential_integrity")].passed
    assert (warned["violations"], warned["warnings"]) == (
        0,
        "regardingobjectid -> account: 1 orphans",
    )

    assert materialized(result)[BATCH]["validation_status"] == "Failed"
    (batch,) = run_rows(site, MetadataTable.CheckpointHistory, result, CheckpointType="DailyBatch")
    assert batch["ValidationStatus"] == "Failed"
    for table in TABLES:
        assert f"{table}: validation failed" in batch["Notes"]
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    data = failure.step_failure_data.user_failure_data
    assert data is not None and data.description is not None
    assert data.description.startswith("daily sync did not fully succeed: ")
    for table, invariant in failing:
        assert f"{table}: validation failed: " in data.description
        assert f"{invariant}: expected" in data.description
    assert not run_rows(site, MetadataTable.CheckpointHistory, result, CheckpointType="Daily")
    assert failure_text(result)


@pytest.mark.parametrize("sync_date", ["2026-1-6", "yesterday", "2026-02-30"])
def test_malformed_sync_date_is_refused_naming_the_field_and_changes_nothing(
    day0_synced: DemoSite, sync_date: str
) -> None:
    site = day0_synced.site
    before = metadata_versions(site.lakehouse)

    result = defs.resolve_job_def("daily_sync_job").execute_in_process(
        run_config={"ops": {"daily_sync": {"config": {"sync_date": sync_date}}}},
        resources={
            "lakehouse": LakehouseResource(root=site.lakehouse.root),
            "source": SourceResource(landing_root=str(site.landing)),
        },
        raise_on_error=False,
    )

    assert not result.success
    text = failure_text(result)
    assert f"field 'sync_date': {sync_date!r} is not a date in the form YYYY-MM-DD" in text
    assert metadata_versions(site.lakehouse) == before
