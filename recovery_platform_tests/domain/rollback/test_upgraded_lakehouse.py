"""A lakehouse left by the first release opens with this release: it syncs and rolls back."""

from __future__ import annotations

from datetime import timedelta

from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable
from recovery_platform.domain.lakehouse.migration_steps import LATEST_VERSION
from recovery_platform.domain.lakehouse.migrations import recorded_version
from recovery_platform.sources import write_bad_sync_extract
from recovery_platform_tests.domain.lakehouse.earlier_releases import downgrade_to
from recovery_platform_tests.domain.rollback.lab import BAD_DAY, TABLES, Lab


def test_a_first_release_lakehouse_is_migrated_by_its_next_sync_then_rolls_back(
    bad_lab: Lab,
) -> None:
    lab = bad_lab
    downgrade_to(lab.house, 1)
    assert recorded_version(lab.house) == 1
    history = {r["CheckpointId"]: r for r in lab.store.rows(MetadataTable.CheckpointHistory)}
    audit_rows = lab.store.read(MetadataTable.SyncAuditLog).num_rows
    next_day = BAD_DAY + timedelta(days=1)
    for table in TABLES:
        write_bad_sync_extract(lab.landing, table, next_day, drop_fraction=0.0)

    synced = lab.sync(next_day)

    assert synced.success
    assert recorded_version(lab.house) == LATEST_VERSION
    steps = lab.store.rows(MetadataTable.SchemaVersions)
    assert {(r["Version"], r["PipelineRunId"]) for r in steps} == {
        (m, synced.run_id) for m in range(2, LATEST_VERSION + 1)}
    after = {r["CheckpointId"]: r for r in lab.store.rows(MetadataTable.CheckpointHistory)}
    # every row and value kept; later steps only add columns, which old rows read as null
    assert {k: {c: after[k][c] for c in row} for k, row in history.items()} == history
    assert {after[k].get("IntegrityStatus") for k in history} == {None}
    assert lab.store.read(MetadataTable.SyncAuditLog).num_rows > audit_rows

    good = lab.batch(2)
    plan = lab.plan(good, reason="bad sync on day 4, after the upgrade")
    applied = lab.apply(good, plan.output)
    assert applied.success, applied.error
    lab.assert_matches_checkpoint(good, TABLES)
