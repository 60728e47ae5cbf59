"""Sync classification on real bronze tables: every kind of change counted exactly."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa

from recovery_platform.domain.lakehouse.audit import AuditTrail
from recovery_platform.domain.lakehouse.lease import LeaseStore
from recovery_platform.domain.lakehouse.location import Lakehouse
from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable
from recovery_platform.domain.lakehouse.metadata_store import MetadataStore
from recovery_platform.domain.purge.record import PurgeRequest, record_purge
from recovery_platform.domain.sync.table import SyncClassification, SyncStatus
from recovery_platform_tests.domain.extracts import (
    bronze_rows,
    extract_rows,
    keys,
    land,
    land_keys,
    land_small_crm,
)
from recovery_platform_tests.domain.sync_runs import SyncRunResult, sync_run

D1, D2, D3, D4, D5 = (date(2026, 2, 1) + timedelta(days=i) for i in range(5))
ACCOUNT = ["account"]
OLD = datetime(2019, 6, 1, tzinfo=UTC)
RECENT = datetime(2024, 6, 1, tzinfo=UTC)


def counts(result: SyncRunResult, table: str = "account") -> SyncClassification:
    classification = result.tables[table].sync.classification
    assert classification is not None
    return classification


def expect(classification: SyncClassification, **expected: int) -> None:
    names = ("inserted", "updated", "deleted", "purged", "reactivated", "unchanged")
    actual = {name: getattr(classification, name) for name in names}
    assert actual == {name: expected.get(name, 0) for name in names}


def record_account_purge(
    lakehouse: Lakehouse, store: MetadataStore, day: date, cutoff: date | None = None
) -> None:
    request = PurgeRequest(("account",), day, cutoff, "annual purge", "dpo@example.org")
    audit = AuditTrail(store, "purge-run")
    record_purge(lakehouse, store, audit, request)
    audit.flush()


def flags(lakehouse: Lakehouse, *ids: str) -> dict[str, tuple[bool, bool]]:
    rows = bronze_rows(lakehouse, ids[0].split("-")[0])
    return {k: (rows[k]["IsDeleted"], rows[k]["IsPurged"]) for k in ids}


def purge_row(store: MetadataStore) -> dict[str, object]:
    return store.rows(MetadataTable.PipelineConfig, equals={"TableName": "account"})[0]


def test_insert_update_delete_with_exact_counts_and_tracking_columns(
    lakehouse: Lakehouse, store: MetadataStore, leases: LeaseStore, landing: Path
) -> None:
    land_keys(landing, "account", D1, keys("account", 0, 40))
    first = sync_run(lakehouse, store, leases, landing, D1, tables=ACCOUNT)
    expect(counts(first), inserted=40)
    stamp_d1 = bronze_rows(lakehouse, "account")["account-0005"]["LastSynced"]

    updated = extract_rows("account", keys("account", 0, 2), tag="-v2")
    kept = extract_rows("account", keys("account", 2, 38) + keys("account", 40, 43))
    land(landing, "account", D2, pa.concat_tables([updated, kept]))
    before = datetime.now(UTC)
    second = sync_run(lakehouse, store, leases, landing, D2, tables=ACCOUNT)
    after = datetime.now(UTC)

    assert second.tables["account"].sync.status is SyncStatus.Synced
    expect(counts(second), inserted=3, updated=2, deleted=2, unchanged=36)
    assert counts(second).source_rows == 41
    assert counts(second).active_before == 40
    rows = bronze_rows(lakehouse, "account")
    assert len(rows) == 43
    assert flags(lakehouse, "account-0038", "account-0039") == {
        "account-0038": (True, False),
        "account-0039": (True, False),
    }
    assert flags(lakehouse, "account-0000", "account-0040") == {
        "account-0000": (False, False),
        "account-0040": (False, False),
    }
    for key in ("account-0000", "account-0001", "account-0038", "account-0039", "account-0040"):
        assert before <= rows[key]["LastSynced"] <= after, key
    assert rows["account-0000"]["name"] == "name-account-0000-v2"
    assert rows["account-0005"]["LastSynced"] == stamp_d1
    assert sum(not r["IsDeleted"] and not r["IsPurged"] for r in rows.values()) == 41
    assert sum(r["IsDeleted"] for r in rows.values()) == 2


def test_reappearing_deleted_and_purged_rows_are_reactivated(
    lakehouse: Lakehouse, store: MetadataStore, leases: LeaseStore, landing: Path
) -> None:
    land_keys(landing, "account", D1, keys("account", 0, 40))
    sync_run(lakehouse, store, leases, landing, D1, tables=ACCOUNT)
    land_keys(landing, "account", D2, keys("account", 0, 38))
    sync_run(lakehouse, store, leases, landing, D2, tables=ACCOUNT)
    record_account_purge(lakehouse, store, D3)
    land_keys(landing, "account", D3, keys("account", 0, 36))
    purged = sync_run(lakehouse, store, leases, landing, D3, tables=ACCOUNT)
    expect(counts(purged), purged=2, unchanged=36)
    assert flags(lakehouse, "account-0036", "account-0038")["account-0036"] == (False, True)

    land_keys(landing, "account", D4, [*keys("account", 0, 36), "account-0036", "account-0038"])
    back = sync_run(lakehouse, store, leases, landing, D4, tables=ACCOUNT)

    expect(counts(back), reactivated=2, unchanged=36)
    assert flags(lakehouse, "account-0036", "account-0037", "account-0038", "account-0039") == {
        "account-0036": (False, False),
        "account-0037": (False, True),
        "account-0038": (False, False),
        "account-0039": (True, False),
    }


def test_pending_purge_classifies_missing_rows_as_purged_and_is_consumed_once(
    lakehouse: Lakehouse, store: MetadataStore, leases: LeaseStore, landing: Path
) -> None:
    land_keys(landing, "account", D1, keys("account", 0, 40))
    sync_run(lakehouse, store, leases, landing, D1, tables=ACCOUNT)
    record_account_purge(lakehouse, store, D2)
    assert (purge_row(store)["PurgePending"], purge_row(store)["PurgeStatus"]) == (True, "Recorded")

    land_keys(landing, "account", D2, keys("account", 0, 37))
    result = sync_run(lakehouse, store, leases, landing, D2, tables=ACCOUNT)

    expect(counts(result), purged=3, unchanged=37)
    assert result.tables["account"].sync.purge_consumed
    assert set(flags(lakehouse, *keys("account", 37, 40)).values()) == {(False, True)}
    row = purge_row(store)
    assert (row["PurgePending"], row["PurgeStatus"], row["LastSyncDate"]) == (False, "Consumed", D2)

    land_keys(landing, "account", D3, keys("account", 0, 36))
    later = sync_run(lakehouse, store, leases, landing, D3, tables=ACCOUNT)
    expect(counts(later), deleted=1, unchanged=36)
    assert flags(lakehouse, "account-0036")["account-0036"] == (True, False)


def test_purge_cutoff_purges_only_rows_created_before_it(
    lakehouse: Lakehouse, store: MetadataStore, leases: LeaseStore, landing: Path
) -> None:
    ids = keys("account", 0, 40)
    created = {k: OLD if i < 20 else RECENT for i, k in enumerate(ids)}
    land_keys(landing, "account", D1, ids, created=created)
    sync_run(lakehouse, store, leases, landing, D1, tables=ACCOUNT)
    record_account_purge(lakehouse, store, D2, cutoff=date(2022, 1, 1))

    gone = ["account-0018", "account-0019", "account-0020", "account-0021"]
    kept = [k for k in ids if k not in gone]
    land_keys(landing, "account", D2, kept, created=created)
    result = sync_run(lakehouse, store, leases, landing, D2, tables=ACCOUNT)

    expect(counts(result), purged=2, deleted=2, unchanged=36)
    assert flags(lakehouse, *gone) == {
        "account-0018": (False, True),
        "account-0019": (False, True),
        "account-0020": (True, False),
        "account-0021": (True, False),
    }


def test_cutoff_date_itself_is_not_before_the_cutoff(
    lakehouse: Lakehouse, store: MetadataStore, leases: LeaseStore, landing: Path
) -> None:
    ids = keys("account", 0, 40)
    created = {
        "account-0038": datetime(2021, 12, 31, 23, 59, tzinfo=UTC),
        "account-0039": datetime(2022, 1, 1, tzinfo=UTC),
    }
    land_keys(landing, "account", D1, ids, created=created)
    sync_run(lakehouse, store, leases, landing, D1, tables=ACCOUNT)
    record_account_purge(lakehouse, store, D2, cutoff=date(2022, 1, 1))

    land_keys(landing, "account", D2, ids[:38], created=created)
    result = sync_run(lakehouse, store, leases, landing, D2, tables=ACCOUNT)

    expect(counts(result), purged=1, deleted=1, unchanged=38)
    assert flags(lakehouse, "account-0038", "account-0039") == {
        "account-0038": (False, True),
        "account-0039": (True, False),
    }


def test_purge_dated_after_the_sync_date_is_not_applied_yet(
    lakehouse: Lakehouse, store: MetadataStore, leases: LeaseStore, landing: Path
) -> None:
    land_keys(landing, "account", D1, keys("account", 0, 40))
    sync_run(lakehouse, store, leases, landing, D1, tables=ACCOUNT)
    record_account_purge(lakehouse, store, D3)

    land_keys(landing, "account", D2, keys("account", 0, 39))
    result = sync_run(lakehouse, store, leases, landing, D2, tables=ACCOUNT)

    expect(counts(result), deleted=1, unchanged=39)
    assert not result.tables["account"].sync.purge_consumed
    assert (purge_row(store)["PurgePending"], purge_row(store)["PurgeStatus"]) == (True, "Recorded")


def test_unchanged_sync_writes_no_commit(
    lakehouse: Lakehouse, store: MetadataStore, leases: LeaseStore, landing: Path
) -> None:
    ids = keys("account", 0, 40)
    land_keys(landing, "account", D1, ids)
    sync_run(lakehouse, store, leases, landing, D1, tables=ACCOUNT)
    uri = lakehouse.bronze_uri("account")
    version = lakehouse.engine.state(uri).version
    commits = len(lakehouse.engine.history(uri))

    land_keys(landing, "account", D2, ids)
    result = sync_run(lakehouse, store, leases, landing, D2, tables=ACCOUNT)

    sync = result.tables["account"].sync
    assert sync.status is SyncStatus.Unchanged
    assert (sync.version_before, sync.version_after) == (version, version)
    expect(counts(result), unchanged=40)
    assert lakehouse.engine.state(uri).version == version
    assert len(lakehouse.engine.history(uri)) == commits
    assert result.tables["account"].ok


def test_a_purge_applied_by_a_sync_that_then_fails_validation_is_still_consumed(
    lakehouse: Lakehouse, store: MetadataStore, leases: LeaseStore, landing: Path
) -> None:
    land_small_crm(landing, D1)
    sync_run(lakehouse, store, leases, landing, D1)
    audit = AuditTrail(store, "purge-run")
    request = PurgeRequest(("donation",), D2, None, "annual purge", "dpo@example.org")
    record_purge(lakehouse, store, audit, request)
    audit.flush()
    land_small_crm(landing, D2)
    ids = [*keys("donation", 0, 18), "donation-0100", "donation-0101"]
    accounts = ["account-0000"] * 18 + ["account-9999", "account-0000"]
    land(landing, "donation", D2, extract_rows("donation", ids, parents={"accountid": accounts}))

    applied = sync_run(lakehouse, store, leases, landing, D2)

    expect(counts(applied, "donation"), purged=2, inserted=2, unchanged=18)
    assert applied.tables["donation"].sync.status is SyncStatus.Synced
    assert not applied.tables["donation"].ok
    row = store.rows(MetadataTable.PipelineConfig, equals={"TableName": "donation"})[0]
    assert (row["PurgePending"], row["PurgeStatus"]) == (False, "Consumed")
    assert row["LastSyncDate"] == D1

    land_small_crm(landing, D3)
    later_rows = extract_rows("donation", ids[1:], parents={"accountid": accounts[1:]})
    land(landing, "donation", D3, later_rows)
    later = sync_run(lakehouse, store, leases, landing, D3)

    assert later.tables["donation"].sync.status is SyncStatus.Synced
    expect(counts(later, "donation"), deleted=1, unchanged=19)
    assert flags(lakehouse, "donation-0000") == {"donation-0000": (True, False)}


def test_consuming_one_tables_purge_keeps_another_tables_later_purge_pending(
    lakehouse: Lakehouse, store: MetadataStore, leases: LeaseStore, landing: Path
) -> None:
    land_small_crm(landing, D1)
    sync_run(lakehouse, store, leases, landing, D1)
    for table, day in (("account", D2), ("contact", D4)):
        audit = AuditTrail(store, f"purge-{table}")
        request = PurgeRequest((table,), day, None, "annual purge", "dpo@example.org")
        record_purge(lakehouse, store, audit, request)
        audit.flush()
    land_small_crm(landing, D2)
    land_keys(landing, "account", D2, keys("account", 0, 19))

    result = sync_run(lakehouse, store, leases, landing, D2)

    expect(counts(result, "account"), purged=1, unchanged=19)
    rows = {r["TableName"]: r for r in store.rows(MetadataTable.PipelineConfig)}
    assert (rows["account"]["PurgePending"], rows["account"]["PurgeStatus"]) == (False, "Consumed")
    contact = rows["contact"]
    assert (contact["PurgePending"], contact["PurgeStatus"], contact["LastPurgeDate"]) == (
        True,
        "Recorded",
        D4,
    )
    assert contact["LastSyncDate"] == D2

    land_small_crm(landing, D4)
    land_keys(landing, "contact", D4, keys("contact", 0, 19))
    later = sync_run(lakehouse, store, leases, landing, D4)
    expect(counts(later, "contact"), purged=1, unchanged=19)
