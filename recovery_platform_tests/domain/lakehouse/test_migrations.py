"""Metadata migrations on real lakehouses: step by step, history kept, crash-safe, one at a time."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from recovery_platform.domain.lakehouse.errors import MetadataSchemaError
from recovery_platform.domain.lakehouse.fault_injection import CRASH_ENV, InjectedCrash
from recovery_platform.domain.lakehouse.lease import METADATA_SCHEMA_LEASE, LeaseStore
from recovery_platform.domain.lakehouse.location import Lakehouse
from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable, schema_of
from recovery_platform.domain.lakehouse.metadata_store import MetadataStore
from recovery_platform.domain.lakehouse.migration_steps import (
    BASELINE_DIGEST,
    LATEST_VERSION,
    MIGRATION_KEY,
    MIGRATIONS,
    AddColumn,
    AddTable,
    Backfill,
    Migration,
    RenameValues,
    check_steps,
    schema_at,
    schema_digest,
)
from recovery_platform.domain.lakehouse.migrations import migrate, recorded_version, schema_status
from recovery_platform.domain.lakehouse.table_config import load_platform_config
from recovery_platform.metadata import main as metadata_cli
from recovery_platform_tests.domain.lakehouse.earlier_releases import (
    HISTORY,
    build_at_version,
    metadata_logs,
)
from recovery_platform_tests.engines import ENGINE_NAMES, make_engine

CH, AUDIT = MetadataTable.CheckpointHistory, MetadataTable.SyncAuditLog
STEPS = (
    Migration(2, "add_schema_versions", (AddTable(MetadataTable.SchemaVersions),)),
    Migration(3, "add_integrity_notes", (AddColumn(CH, "IntegrityNotes"),
                                         AddColumn(CH, "DeactivatedAt"))),
    Migration(4, "notes_default_to_none", (Backfill(CH, "IntegrityNotes", "none"),)),
    Migration(5, "rename_warning_status", (RenameValues(AUDIT, "Status", {"Warning": "Warned"}),)),
)
"""Every kind of step, on real columns: what a later release's list looks like."""


def lakehouse_on(engine_name: str, folder: Path) -> Lakehouse:
    return Lakehouse(root=str(folder / "lake"), config=load_platform_config(),
                     engine=make_engine(engine_name))


@pytest.fixture
def house(tmp_path: Path) -> Lakehouse:
    return lakehouse_on("deltars", tmp_path)


def versions_recorded(house: Lakehouse) -> list[tuple[int, str]]:
    rows = MetadataStore(house).rows(MetadataTable.SchemaVersions)
    return sorted((r["Version"], r["StepName"]) for r in rows)


def test_the_first_release_schemas_are_frozen_and_the_steps_are_well_formed() -> None:
    assert schema_digest(1) == BASELINE_DIGEST, (
        "metadata_schema.py changed without a migration step: append one to MIGRATIONS")
    assert check_steps() == []
    assert schema_at(MetadataTable.SchemaVersions, 1) is None
    assert LATEST_VERSION == MIGRATIONS[-1].version
    assert check_steps(STEPS) == []
    broken = (Migration(2, "x", (AddColumn(CH, "CheckpointId"),)), Migration(4, "x", ()))
    assert check_steps(broken) == [
        "versions must be 2, 3, ... in order, one step each", "step names must be unique",
        "add column CheckpointHistory.CheckpointId: an added column must be nullable",
        "CheckpointHistory: added columns must be the last ones of metadata_schema.py, in step "
        "order (Delta appends them at the end)",
    ]


@pytest.mark.parametrize("engine_name", ENGINE_NAMES)
def test_a_first_release_lakehouse_is_upgraded_step_by_step_and_keeps_its_history(
    engine_name: str, tmp_path: Path
) -> None:
    house = lakehouse_on(engine_name, tmp_path)
    build_at_version(house, 1, STEPS)
    assert "IntegrityNotes" not in house.engine.schema(house.metadata_uri(CH)).names

    found = migrate(house, run_id="run-upgrade", migrations=STEPS)

    assert (found.current, [m.version for m in found.pending]) == (1, [2, 3, 4, 5])
    assert recorded_version(house) == 5
    assert versions_recorded(house) == [(2, "add_schema_versions"), (3, "add_integrity_notes"),
                                        (4, "notes_default_to_none"),
                                        (5, "rename_warning_status")]
    store = MetadataStore(house)
    checkpoints = sorted(store.rows(CH), key=lambda r: r["CheckpointId"])
    assert [{k: r[k] for k in HISTORY[CH][0]} for r in checkpoints] == HISTORY[CH]
    assert {(r["IntegrityNotes"], r["DeactivatedAt"]) for r in checkpoints} == {("none", None)}
    statuses = {r["AuditId"]: r["Status"] for r in store.rows(AUDIT)}
    assert statuses == {"a-0": "Succeeded", "a-1": "Warned", "a-2": "Held", "a-3": "Warned"}
    assert {r["RowsRead"] for r in store.rows(AUDIT)} == {0, 10, 20, 30}
    assert house.engine.schema(house.metadata_uri(CH)) == schema_of(CH)
    store.append(CH, [{**HISTORY[CH][0], "CheckpointId": "cp-new", "IntegrityNotes": "ok"}])
    assert store.rows(CH, equals={"CheckpointId": "cp-new"})[0]["IntegrityNotes"] == "ok"
    commits = house.engine.history(house.metadata_uri(CH))
    assert [c.user_metadata.get(MIGRATION_KEY) for c in commits[1:3]] == [
        "4:notes_default_to_none", "3:add_integrity_notes"]


def test_alert_severities_become_the_seeds_levels_by_kind(house: Lakehouse) -> None:
    build_at_version(house, 3)
    migrate(house, run_id="run-upgrade")
    alerts = {r["AlertId"]: r for r in MetadataStore(house).rows(MetadataTable.Alerts)}
    assert {k: r["Severity"] for k, r in alerts.items()} == {
        "al-0": "CRITICAL", "al-1": "HIGH", "al-2": "MEDIUM", "al-3": "LOW"}
    assert {r["DeliveryAttempts"] for r in alerts.values()} == {None}
    assert {r["Message"] for r in alerts.values()} == {f"alert {i}" for i in range(4)}


def test_a_crash_between_steps_resumes_where_it_stopped(
    house: Lakehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_at_version(house, 1, STEPS)
    monkeypatch.setenv(CRASH_ENV, "migration_3_recorded")
    with pytest.raises(InjectedCrash):
        migrate(house, run_id="run-1", migrations=STEPS)
    assert recorded_version(house) == 3
    assert not LeaseStore(house.lease_root).holder(METADATA_SCHEMA_LEASE)

    monkeypatch.setenv(CRASH_ENV, "migration_4_applied")
    with pytest.raises(MetadataSchemaError, match=r"step 4 'notes_default_to_none'.*"
                                                  r"stays at schema version 3"):
        migrate(house, run_id="run-2", migrations=STEPS)
    assert recorded_version(house) == 3

    monkeypatch.delenv(CRASH_ENV)
    resumed = migrate(house, run_id="run-3", migrations=STEPS)
    assert [m.version for m in resumed.pending] == [4, 5]
    assert [v for v, _ in versions_recorded(house)] == [2, 3, 4, 5]
    assert {r["IntegrityNotes"] for r in MetadataStore(house).rows(CH)} == {"none"}


def test_a_failing_step_is_named_and_leaves_the_last_completed_version(house: Lakehouse) -> None:
    build_at_version(house, 1, STEPS)
    wrong = (*STEPS[:2], Migration(4, "bad_backfill", (Backfill(CH, "TablesIncluded", "many"),)))
    with pytest.raises(MetadataSchemaError) as refused:
        migrate(house, run_id="run-1", migrations=wrong)
    assert "step 4 'bad_backfill'" in str(refused.value)
    assert "stays at schema version 3" in str(refused.value)
    assert recorded_version(house) == 3
    assert {r["TablesIncluded"] for r in MetadataStore(house).rows(CH)} == {4}


def test_a_second_migrator_waits_for_the_first_or_refuses_naming_it(house: Lakehouse) -> None:
    build_at_version(house, 1)
    leases = LeaseStore(house.lease_root)
    held = leases.acquire(METADATA_SCHEMA_LEASE, "run-first")
    with pytest.raises(MetadataSchemaError, match="being migrated by run run-first"):
        migrate(house, run_id="run-second", leases=leases, wait_seconds=0)
    assert recorded_version(house) == 1

    releaser = threading.Timer(0.5, leases.release, args=(held,))
    releaser.start()
    started = time.monotonic()
    migrate(house, run_id="run-second", leases=leases, wait_seconds=30)
    assert time.monotonic() - started >= 0.4
    assert versions_recorded(house) == [(m.version, m.name) for m in MIGRATIONS]


def test_a_lakehouse_newer_than_this_release_is_refused_and_not_written(house: Lakehouse) -> None:
    store = MetadataStore(house)
    store.ensure_tables("run-1")
    store.append(MetadataTable.SchemaVersions, [{
        "Version": LATEST_VERSION + 1, "StepName": "from_the_future",
        "AppliedAt": datetime.now(UTC)}])
    before = metadata_logs(house)

    with pytest.raises(MetadataSchemaError, match=f"schema version {LATEST_VERSION + 1}.*"
                                                  f"up to {LATEST_VERSION}"):
        MetadataStore(house).ensure_tables("run-2")
    assert schema_status(house).too_new
    assert metadata_logs(house) == before


def test_a_new_lakehouse_is_created_at_the_latest_version_and_then_costs_one_read(
    house: Lakehouse
) -> None:
    MetadataStore(house).ensure_tables("run-new")
    assert all(house.engine.table_exists(house.metadata_uri(t)) for t in MetadataTable)
    assert versions_recorded(house) == [(LATEST_VERSION, "new_lakehouse")]
    before = metadata_logs(house)

    again = migrate(house, run_id="run-next", leases=LeaseStore(str(Path(house.root) / "none")))
    assert (again.current, again.pending) == (LATEST_VERSION, ())
    assert not (Path(house.root) / "none").exists()
    assert metadata_logs(house) == before


def test_the_command_line_shows_pending_steps_without_writing_then_applies_them(
    house: Lakehouse, capsys: pytest.CaptureFixture[str]
) -> None:
    build_at_version(house, 1)
    before = metadata_logs(house)
    shown = subprocess.run(
        [sys.executable, "-m", "recovery_platform.metadata", "migrate", "--dry-run",
         "--root", house.root], capture_output=True, text=True, check=False, timeout=120)
    assert shown.returncode == 0, shown.stderr
    assert f"schema version 1, this release: {LATEST_VERSION}" in shown.stdout
    assert "pending 2 add_schema_versions: add table SchemaVersions" in shown.stdout
    assert metadata_logs(house) == before

    assert metadata_cli(["migrate", "--root", house.root]) == 0
    assert f"migrated to schema version {LATEST_VERSION}" in capsys.readouterr().out
    assert recorded_version(house) == LATEST_VERSION
    assert {r["PipelineRunId"] for r in MetadataStore(house).rows(
        MetadataTable.SchemaVersions)} == {""}

    MetadataStore(house).append(MetadataTable.SchemaVersions, [{
        "Version": LATEST_VERSION + 1, "StepName": "from_the_future",
        "AppliedAt": datetime.now(UTC)}])
    assert metadata_cli(["migrate", "--root", house.root]) == 2
    assert "written by a later release" in capsys.readouterr().out
