"""Names are unique: one checkpoint per name within its type (and, for Daily, its table)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from recovery_platform.domain.checkpoints.history import (
    pin_tables,
    record_checkpoint,
    resolve_checkpoint,
)
from recovery_platform.domain.checkpoints.manual import create_manual_checkpoint
from recovery_platform.domain.lakehouse.audit import Actor, AuditTrail
from recovery_platform.domain.lakehouse.errors import InvalidInputError
from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable
from recovery_platform.domain.lakehouse.vocabulary import CheckpointType
from recovery_platform.domain.rollback.request import select_checkpoint, validate_request
from recovery_platform_tests.domain.extracts import land_small_crm, metadata_versions
from recovery_platform_tests.domain.site import Site, make_site
from recovery_platform_tests.domain.sync_runs import sync_run

DAY = date(2026, 7, 1)
BASE = f"bronze_backup_{DAY:%Y-%m-%d}"


@pytest.fixture
def site(tmp_path: Path) -> Site:
    site = make_site(tmp_path)
    land_small_crm(site.landing, DAY)
    return site


def name_keys(site: Site) -> Counter[tuple[str, str | None, str]]:
    """How many checkpoints hold each (type, table for Daily, name)."""
    return Counter(
        (r["CheckpointType"], r["TableName"] if r["CheckpointType"] == "Daily" else None,
         r["CheckpointName"])
        for r in site.store.rows(MetadataTable.CheckpointHistory)
    )


def by_name(site: Site, name: str, kind: str) -> str:
    """The checkpoint a rollback request by this name selects, the way `rollback_job` does."""
    request = validate_request(site.lakehouse.config, checkpoint_name=name, checkpoint_type=kind,
                               requested_by="alice")
    return select_checkpoint(site.store, request).checkpoint.checkpoint_id


def test_daily_sync_reruns_for_one_date_get_suffixed_names_and_resolve_to_one(
    site: Site,
) -> None:
    runs = [sync_run(site.lakehouse, site.store, site.leases, site.landing, DAY)
            for _ in range(3)]

    assert max(name_keys(site).values()) == 1
    tables = site.lakehouse.config.table_names
    for run, name in zip(runs, (BASE, f"{BASE}_2", f"{BASE}_3"), strict=True):
        rows = site.store.rows(MetadataTable.CheckpointHistory,
                               equals={"PipelineRunId": run.run_id, "CheckpointType": "Daily"})
        assert {r["CheckpointName"] for r in rows} == {name}
        assert sorted(r["TableName"] for r in rows) == sorted(tables)
        audited = site.store.rows(MetadataTable.SyncAuditLog, equals={
            "PipelineRunId": run.run_id, "OperationType": "CheckpointCreated"})
        assert {json.loads(r["DetailsJson"])["name"] for r in audited} == {name}
        assert len(audited) == len(tables)
        for table in tables:
            found = resolve_checkpoint(site.store, name=name, checkpoint_type=CheckpointType.Daily,
                                       table=table)
            assert found.checkpoint_id == run.tables[table].checkpoint.checkpoint_id
    first = runs[0].tables["account"].checkpoint.checkpoint_id
    (again,) = site.store.rows(MetadataTable.CheckpointHistory, equals={
        "CheckpointName": f"{BASE}_2", "TableName": "account"})
    assert again["Notes"] == f"{BASE} was taken by checkpoint {first}"
    for run in runs:
        batch = run.batch.checkpoint
        assert by_name(site, batch.name, "DailyBatch") == batch.checkpoint_id


def test_a_rollback_checkpoint_name_used_again_gets_a_suffix(site: Site) -> None:
    sync_run(site.lakehouse, site.store, site.leases, site.landing, DAY)
    audit = AuditTrail(site.store, "rollback-run", Actor(requested_by="alice"))
    pins = pin_tables(site.lakehouse, ["account", "contact"])
    first, second = (
        record_checkpoint(site.lakehouse, site.store, audit,
                          checkpoint_type=CheckpointType.PostRollback, name="post_rollback_1f44",
                          pins=pins, validated=True, notes="after rollback")
        for _ in range(2)
    )

    assert (first.name, second.name) == ("post_rollback_1f44", "post_rollback_1f44_2")
    assert second.notes == (f"after rollback | post_rollback_1f44 was taken by checkpoint "
                            f"{first.checkpoint_id}")
    assert by_name(site, "post_rollback_1f44", "PostRollback") == first.checkpoint_id
    assert by_name(site, "post_rollback_1f44_2", "PostRollback") == second.checkpoint_id
    assert max(name_keys(site).values()) == 1


def test_a_manual_name_already_used_is_refused_and_changes_nothing(site: Site) -> None:
    sync_run(site.lakehouse, site.store, site.leases, site.landing, DAY)
    audit = AuditTrail(site.store, "manual-run", Actor(requested_by="alice"))

    def manual(tables: list[str]) -> str:
        return create_manual_checkpoint(
            site.lakehouse, site.store, audit, name="before_upgrade", tables=tables,
            reason="upgrade", requested_by="alice").checkpoint_id

    first = manual(["account"])
    before = metadata_versions(site.lakehouse)
    bronze = {t: site.lakehouse.engine.state(site.lakehouse.bronze_uri(t)).version
              for t in site.lakehouse.config.table_names}

    with pytest.raises(InvalidInputError) as refused:
        manual(["contact"])

    assert str(refused.value) == (
        f"field 'checkpoint_name': 'before_upgrade' is already the name of Manual checkpoint "
        f"{first}; checkpoint names are unique, choose another. Nothing was changed.")
    assert metadata_versions(site.lakehouse) == before
    assert {t: site.lakehouse.engine.state(site.lakehouse.bronze_uri(t)).version
            for t in bronze} == bronze
    assert by_name(site, "before_upgrade", "Manual") == first
