"""Checkpoints pin exact versions, counts and fingerprints; names resolve to exactly one."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pytest
from deltalake import DeltaTable

from recovery_platform.domain.checkpoints.history import (
    PinnedTable,
    format_fingerprint,
    resolve_checkpoint,
)
from recovery_platform.domain.lakehouse.errors import CheckpointSelectionError
from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable
from recovery_platform.domain.lakehouse.vocabulary import CheckpointType
from recovery_platform.sources import DemoManifest
from recovery_platform_tests.domain.extracts import land_small_crm
from recovery_platform_tests.domain.site import Site, demo, make_site
from recovery_platform_tests.domain.sync_runs import SyncRunResult, sync_run

BATCH_NAME = re.compile(r"^bronze_batch_\d{4}-\d{2}-\d{2}T\d{6}Z_[0-9a-f]{8}$")


@dataclass(frozen=True)
class Runs:
    """Day 0 synced, day 1 synced, then day 1 synced again (unchanged) by a second run."""

    site: Site
    demo: DemoManifest
    first: SyncRunResult
    second: SyncRunResult
    again: SyncRunResult
    second_finished: datetime


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    site = make_site(tmp_path_factory.mktemp("checkpoints"))
    manifest = demo(site.landing)

    def run(day: int) -> SyncRunResult:
        return sync_run(site.lakehouse, site.store, site.leases, site.landing, manifest.days[day])

    first, second = run(0), run(1)
    finished = datetime.now(UTC)
    return Runs(site, manifest, first, second, run(1), finished)


def independent_counts(uri: str, version: int) -> dict[str, int]:
    """Counts from a plain pyarrow read of the version, not through our engine."""
    data = DeltaTable(uri, version=version).to_pyarrow_table()
    deleted, purged = data.column("IsDeleted"), data.column("IsPurged")
    return {
        "TotalRows": data.num_rows,
        "ActiveRows": pc.sum(pc.and_(pc.invert(deleted), pc.invert(purged))).as_py() or 0,
        "DeletedRows": pc.sum(pc.and_(deleted, pc.invert(purged))).as_py() or 0,
        "PurgedRows": pc.sum(pc.and_(purged, pc.invert(deleted))).as_py() or 0,
    }


def run_checkpoints(site: Site, run: SyncRunResult, kind: str) -> list[dict[str, Any]]:
    return site.store.rows(
        MetadataTable.CheckpointHistory,
        equals={"PipelineRunId": run.run_id, "CheckpointType": kind},
    )


def pins_of(site: Site, checkpoint_id: str) -> dict[str, dict[str, Any]]:
    rows = site.store.rows(MetadataTable.CheckpointTables, equals={"CheckpointId": checkpoint_id})
    return {r["TableName"]: r for r in rows}


def pin_facts(pin: PinnedTable) -> tuple[object, ...]:
    c = pin.counts
    return (pin.table, pin.version, pin.commit_timestamp, pin.table_id, pin.fingerprint,
            c.total, c.active, c.deleted, c.purged, c.null_keys)  # fmt: skip


def test_daily_checkpoints_pin_the_synced_version_counts_and_fingerprint(runs: Runs) -> None:
    site, run = runs.site, runs.second
    engine, config = site.lakehouse.engine, site.lakehouse.config
    daily = run_checkpoints(site, run, "Daily")
    assert sorted(r["TableName"] for r in daily) == sorted(config.table_names)
    for parent in daily:
        table = parent["TableName"]
        uri = site.lakehouse.bronze_uri(table)
        pin = pins_of(site, parent["CheckpointId"])[table]
        version = pin["DeltaVersion"]
        assert version == run.tables[table].sync.version_after
        state = engine.state(uri, version)
        assert (pin["CommitTimestamp"], pin["TableId"]) == (state.timestamp, state.table_id)
        counts = engine.row_counts(uri, config.table(table).shape, version)
        expected = independent_counts(uri, version)
        assert {k: pin[k] for k in expected} == expected
        assert expected == {
            "TotalRows": counts.total,
            "ActiveRows": counts.active,
            "DeletedRows": counts.deleted,
            "PurgedRows": counts.purged,
        }
        assert pin["NullKeys"] == 0
        fingerprint = engine.fingerprint(uri, config.table(table).shape, version)
        assert pin["Fingerprint"] == format_fingerprint(fingerprint)
        assert (parent["TablesIncluded"], parent["TotalRows"]) == (1, expected["TotalRows"])
        assert (parent["ValidationStatus"], parent["IsActive"]) == ("Validated", True)
        assert parent["RetentionDate"] == (parent["CreatedDate"] + timedelta(days=7)).date()


def test_bronze_holds_exactly_what_the_demo_extracts_imply(runs: Runs) -> None:
    day1 = runs.demo.days[1]
    for table, outcome in runs.second.tables.items():
        assert outcome.pinned is not None
        stats = runs.demo.stats(table, day1)
        counts = outcome.pinned.counts
        assert (counts.total, counts.active, counts.deleted) == (
            stats.rows + stats.deleted,
            stats.rows,
            stats.deleted,
        )


def test_fingerprint_changes_with_content_and_not_without(runs: Runs) -> None:
    site = runs.site
    for table in site.lakehouse.config.table_names:
        a, b, c = (r.tables[table].pinned for r in (runs.first, runs.second, runs.again))
        assert a is not None and b is not None and c is not None
        assert a.version < b.version == c.version
        assert a.fingerprint != b.fingerprint == c.fingerprint


def test_batch_checkpoint_pins_every_table_at_the_end_of_the_run(runs: Runs) -> None:
    site, run = runs.site, runs.second
    batch = run_checkpoints(site, run, "DailyBatch")
    assert len(batch) == 1
    parent = batch[0]
    pins = pins_of(site, parent["CheckpointId"])
    assert set(pins) == set(site.lakehouse.config.table_names)
    assert parent["TablesIncluded"] == 4
    totals = [
        independent_counts(site.lakehouse.bronze_uri(t), p["DeltaVersion"])["TotalRows"]
        for t, p in pins.items()
    ]
    assert parent["TotalRows"] == sum(totals) == sum(p["TotalRows"] for p in pins.values())
    for table, pin in pins.items():
        assert pin["DeltaVersion"] == run.tables[table].sync.version_after
        assert pin["ValidationStatus"] == "Validated"
    daily_times = [r["CreatedDate"] for r in run_checkpoints(site, run, "Daily")]
    assert max(daily_times) <= parent["CreatedDate"] <= runs.second_finished
    assert (parent["ValidationStatus"], parent["Notes"], parent["TableName"]) == (
        "Validated",
        None,
        None,
    )
    assert parent["RetentionDate"] == (parent["CreatedDate"] + timedelta(days=7)).date()


def test_daily_names_follow_the_seed_and_batch_names_are_unique_per_run(runs: Runs) -> None:
    site, days = runs.site, runs.demo.days
    every = (runs.first, runs.second, runs.again)
    # the re-run of day 1 gets a suffix: a name is unique per table (see test_unique_names)
    expected = (f"bronze_backup_{days[0]:%Y-%m-%d}", f"bronze_backup_{days[1]:%Y-%m-%d}",
                f"bronze_backup_{days[1]:%Y-%m-%d}_2")
    for run, name in zip(every, expected, strict=True):
        names = {r["CheckpointName"] for r in run_checkpoints(site, run, "Daily")}
        assert names == {name}
    batch_names = [run_checkpoints(site, run, "DailyBatch")[0]["CheckpointName"] for run in every]
    assert all(BATCH_NAME.match(n) for n in batch_names), batch_names
    assert len(set(batch_names)) == 3
    assert all(n.endswith(run.run_id[:8]) for n, run in zip(batch_names, every, strict=True))


def test_checkpoint_ids_are_unique(runs: Runs) -> None:
    ids = [r["CheckpointId"] for r in runs.site.store.rows(MetadataTable.CheckpointHistory)]
    assert len(ids) == 3 * 5
    assert len(set(ids)) == len(ids)
    pinned = {r["CheckpointId"] for r in runs.site.store.rows(MetadataTable.CheckpointTables)}
    assert pinned == set(ids)


def test_resolve_by_name_and_type_resolves_exactly_one(runs: Runs) -> None:
    store, run = runs.site.store, runs.first
    name = f"bronze_backup_{runs.demo.days[0]:%Y-%m-%d}"
    one = resolve_checkpoint(
        store, name=name, checkpoint_type=CheckpointType.Daily, table="donation"
    )
    assert one.checkpoint_id == run.tables["donation"].checkpoint.checkpoint_id
    assert [p.table for p in one.tables] == ["donation"]
    assert one.pin("donation").version == run.tables["donation"].sync.version_after

    batch_name = runs.second.batch.checkpoint.name
    batch = resolve_checkpoint(store, name=batch_name, checkpoint_type=CheckpointType.DailyBatch)
    assert batch.checkpoint_id == runs.second.batch.checkpoint.checkpoint_id
    assert [pin_facts(p) for p in batch.tables] == [
        pin_facts(p) for p in sorted(runs.second.batch.checkpoint.tables, key=lambda p: p.table)
    ]
    assert resolve_checkpoint(store, checkpoint_id=batch.checkpoint_id) == batch


def test_resolve_an_ambiguous_name_lists_every_candidate_with_its_id(runs: Runs) -> None:
    store = runs.site.store
    name = f"bronze_backup_{runs.demo.days[1]:%Y-%m-%d}"
    with pytest.raises(CheckpointSelectionError) as across_tables:
        resolve_checkpoint(store, name=name, checkpoint_type=CheckpointType.Daily)
    message = str(across_tables.value)
    assert f"4 checkpoints are named {name!r} of type Daily" in message
    assert "choose one by checkpoint_id" in message
    for outcome in runs.second.tables.values():
        assert outcome.checkpoint is not None
        assert outcome.checkpoint.checkpoint_id in message

    # within one table the name is unique: the re-run of the same date got a suffix
    for run, named in ((runs.second, name), (runs.again, f"{name}_2")):
        one = resolve_checkpoint(store, name=named, checkpoint_type=CheckpointType.Daily,
                                 table="account")
        assert one.checkpoint_id == run.tables["account"].checkpoint.checkpoint_id


def test_resolve_refuses_unknown_names_and_ids(runs: Runs) -> None:
    store = runs.site.store
    with pytest.raises(CheckpointSelectionError, match="no checkpoint named 'nope' of type Daily"):
        resolve_checkpoint(store, name="nope", checkpoint_type=CheckpointType.Daily)
    batch_name = runs.second.batch.checkpoint.name
    with pytest.raises(CheckpointSelectionError, match="no checkpoint named"):
        resolve_checkpoint(store, name=batch_name, checkpoint_type=CheckpointType.Daily)
    with pytest.raises(CheckpointSelectionError, match="no checkpoint has id 'missing'"):
        resolve_checkpoint(store, checkpoint_id="missing")
    with pytest.raises(CheckpointSelectionError, match="give a checkpoint name or"):
        resolve_checkpoint(store)


def test_a_run_over_some_tables_records_its_batch_as_not_validated(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    day = date(2026, 8, 1)
    land_small_crm(site.landing, day)

    partial = sync_run(
        site.lakehouse, site.store, site.leases, site.landing, day, tables=["account"]
    )

    assert partial.tables["account"].ok and partial.tables["account"].checkpoint is not None
    batch = partial.batch.checkpoint
    assert batch.status == "Failed"
    assert [p.table for p in batch.tables] == ["account"]
    assert partial.batch.reasons == (
        "contact: not synced in this run",
        "donation: not synced in this run",
        "activitypointer: not synced in this run",
    )
    assert batch.notes is not None and "contact: not synced in this run" in batch.notes

    full = sync_run(site.lakehouse, site.store, site.leases, site.landing, day)
    assert full.batch.checkpoint.status == "Validated" and full.batch.reasons == ()
    assert len(full.batch.checkpoint.tables) == 4
