"""Integrity proofs: recomputed from storage, recorded per checkpoint and table, alerted."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from recovery_platform.domain.checkpoints.history import format_fingerprint, load_checkpoints
from recovery_platform.domain.checkpoints.integrity import (
    UNRESTORABLE_ALERT,
    IntegrityOutcome,
    check_integrity,
)
from recovery_platform.domain.lakehouse.audit import Actor, AuditTrail
from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable
from recovery_platform_tests.domain.checkpoints.checkpoint_sites import (
    batches,
    pinned_file,
    recreate,
    rewrite_same_size,
    synced_days,
)
from recovery_platform_tests.domain.site import Site, copy_site


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Site:
    """Two days synced: 8 Daily checkpoints (one table each) and 2 DailyBatch (four tables)."""
    return synced_days(tmp_path_factory.mktemp("integrity"), 2)


@pytest.fixture
def site(template: Site, tmp_path: Path) -> Site:
    return copy_site(template, tmp_path)


def check(site: Site, *, deep: bool, run_id: str = "integrity", **options: Any) -> IntegrityOutcome:
    audit = AuditTrail(site.store, run_id, Actor(requested_by="ops"))
    outcome = check_integrity(site.lakehouse, site.store, audit, deep=deep, **options)
    audit.flush()
    return outcome


def statuses(site: Site) -> dict[str, tuple[str | None, str | None]]:
    """Checkpoint name (batches by position) -> (IntegrityStatus, IntegrityNotes)."""
    found = {}
    for n, c in enumerate(batches(site)):
        found[f"batch{n}"] = (c.integrity_status and c.integrity_status.value, c.integrity_notes)
    for c in load_checkpoints(site.store):
        if c.checkpoint_type.value == "Daily":
            found[f"{c.name}/{c.tables[0].table}"] = (
                c.integrity_status and c.integrity_status.value, c.integrity_notes)
    return found


def integrity_rows(site: Site, run_id: str = "integrity") -> list[dict[str, Any]]:
    return site.store.rows(MetadataTable.CheckpointIntegrity, equals={"PipelineRunId": run_id})


def alerts(site: Site) -> list[dict[str, Any]]:
    return site.store.rows(MetadataTable.Alerts, equals={"AlertType": UNRESTORABLE_ALERT})


@pytest.mark.parametrize("deep", [False, True], ids=["shallow", "deep"])
def test_sound_checkpoints_are_verified_per_table_and_audited(site: Site, deep: bool) -> None:
    outcome = check(site, deep=deep)

    assert (outcome.checkpoints_checked, outcome.tables_checked) == (10, 16)
    assert len(outcome.verified) == 10 and outcome.unrestorable == ()
    assert {s for s, _ in statuses(site).values()} == {"Verified"}
    rows = integrity_rows(site)
    assert len(rows) == 16
    mode = "deep" if deep else "shallow"
    assert {(r["Mode"], r["Restorable"], r["LogLoads"], r["MissingFiles"], r["TableIdMatches"],
             r["CountsMatch"], r["FingerprintMatches"], r["Reason"]) for r in rows} == {
        (mode, True, True, 0, True, True, True if deep else None, None)}
    audit = site.store.rows(MetadataTable.SyncAuditLog,
                            equals={"OperationType": "CheckpointIntegrityValidation"})
    assert len(audit) == 10 and {a["Status"] for a in audit} == {"Succeeded"}
    assert {a["CheckpointId"] for a in audit} == {r["CheckpointId"] for r in rows}
    assert alerts(site) == []


def test_a_deleted_pinned_file_makes_its_checkpoints_unrestorable_and_alerts(site: Site) -> None:
    first = batches(site)[0]
    pinned_file(site, first, "account").unlink()

    outcome = check(site, deep=False)

    assert len(outcome.unrestorable) == 2 and len(outcome.verified) == 8
    assert set(outcome.unrestorable_names) == {first.name, "bronze_backup_2026-04-01"}
    status, notes = statuses(site)["batch0"]
    assert status == "Unrestorable"
    assert notes is not None and notes.startswith("account: 1 data file(s) of version")
    assert statuses(site)["bronze_backup_2026-04-01/account"][0] == "Unrestorable"
    assert statuses(site)["bronze_backup_2026-04-01/contact"][0] == "Verified"
    (row,) = [r for r in integrity_rows(site)
              if r["CheckpointId"] == first.checkpoint_id and r["TableName"] == "account"]
    assert (row["Restorable"], row["LogLoads"], row["MissingFiles"], row["CountsMatch"]) == (
        False, True, 1, None)
    by_checkpoint = {a["DetailsJson"] and json.loads(a["DetailsJson"])["checkpoint_id"]: a
                     for a in alerts(site)}
    assert set(by_checkpoint) == set(outcome.unrestorable)
    alert = by_checkpoint[first.checkpoint_id]
    assert (alert["Severity"], alert["TableName"]) == ("CRITICAL", "account")
    assert first.name in alert["Message"] and "Recommended action:" in alert["Message"]
    (audit,) = site.store.rows(MetadataTable.SyncAuditLog, equals={
        "OperationType": "CheckpointIntegrityValidation", "CheckpointId": first.checkpoint_id})
    assert audit["Status"] == "Failed" and audit["ErrorMessage"] == notes


def test_deep_mode_finds_a_replaced_file_that_counts_and_memory_miss(site: Site) -> None:
    first = batches(site)[0]
    pin = first.pin("account")
    uri, shape = site.lakehouse.bronze_uri("account"), site.lakehouse.config.table("account").shape
    assert site.lakehouse.engine.fingerprint(uri, shape, pin.version) == pin.fingerprint
    path = pinned_file(site, first, "account")
    data = pq.read_table(path)
    changed = ["account-9999", *data.column("accountid").to_pylist()[1:]]
    data = data.set_column(0, data.schema.field(0), pa.array(changed, data.schema.field(0).type))
    rewrite_same_size(path, data, "name")

    shallow = check(site, deep=False, run_id="shallow")
    deep = check(site, deep=True, run_id="deep")

    assert shallow.unrestorable == ()  # the log's statistics still tell the recorded counts
    assert set(deep.unrestorable_names) == {first.name, "bronze_backup_2026-04-01"}
    (row,) = [r for r in integrity_rows(site, "deep")
              if r["CheckpointId"] == first.checkpoint_id and r["TableName"] == "account"]
    assert (row["Mode"], row["CountsMatch"], row["FingerprintMatches"]) == ("deep", True, False)
    assert f"recorded {format_fingerprint(pin.fingerprint)}" in row["Reason"]
    # the lakehouse's own engine remembers the version and would have proven nothing
    assert site.lakehouse.engine.fingerprint(uri, shape, pin.version) == pin.fingerprint


def test_a_recreated_table_fails_every_checkpoint_pinning_it(site: Site) -> None:
    recreate(site, "donation")

    outcome = check(site, deep=False)

    assert len(outcome.unrestorable) == 4  # two Daily of donation, both batches
    rows = [r for r in integrity_rows(site) if r["TableName"] == "donation"]
    assert len(rows) == 4 and {(r["Restorable"], r["TableIdMatches"]) for r in rows} == {
        (False, False)}
    assert {r["Restorable"] for r in integrity_rows(site) if r["TableName"] != "donation"} == {
        True}


def test_an_engine_error_on_one_table_is_its_reason_and_the_others_go_on(site: Site) -> None:
    shutil.rmtree(site.lakehouse.bronze_uri("contact"))

    outcome = check(site, deep=True)

    assert len(outcome.unrestorable) == 4 and len(outcome.verified) == 6
    (row,) = {r["Reason"] for r in integrity_rows(site) if r["TableName"] == "contact"}
    assert row.startswith("the table cannot be read: TableNotFoundError")
    status, notes = statuses(site)["batch1"]
    assert status == "Unrestorable" and notes is not None and notes.startswith("contact: ")


def test_listed_checkpoints_only_and_a_later_check_clears_the_mark(site: Site) -> None:
    first, second = batches(site)
    path = pinned_file(site, first, "account")
    kept = path.read_bytes()
    path.unlink()
    assert check(site, deep=False, checkpoint_ids=[first.checkpoint_id, second.checkpoint_id]
                 ).unrestorable == (first.checkpoint_id,)
    assert len(integrity_rows(site)) == 8
    assert statuses(site)["bronze_backup_2026-04-01/account"] == (None, None)  # not listed

    path.write_bytes(kept)  # the file is back (restored from a storage backup)
    outcome = check(site, deep=False, run_id="again", checkpoint_ids=[first.checkpoint_id])
    assert outcome.verified == (first.checkpoint_id,)
    assert statuses(site)["batch0"] == ("Verified", None)
