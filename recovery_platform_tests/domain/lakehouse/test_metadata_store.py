"""The metadata store: idempotent creation, one commit per write, upserts that keep values."""

from __future__ import annotations

from datetime import date

from recovery_platform.domain.lakehouse.audit import AuditStep, AuditTrail
from recovery_platform.domain.lakehouse.location import Lakehouse
from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable, schema_of
from recovery_platform.domain.lakehouse.metadata_store import MetadataStore
from recovery_platform.domain.lakehouse.vocabulary import OperationType
from recovery_platform_tests.domain.extracts import metadata_versions


def test_ensure_tables_creates_every_table_once_with_its_schema(
    lakehouse: Lakehouse, store: MetadataStore
) -> None:
    store.ensure_tables()
    first = metadata_versions(lakehouse)
    MetadataStore(lakehouse).ensure_tables()

    versions = {**dict.fromkeys(first, 0), MetadataTable.SchemaVersions.value: 1}
    assert metadata_versions(lakehouse) == first == versions
    for table in MetadataTable:
        uri = lakehouse.metadata_uri(table)
        assert lakehouse.engine.schema(uri).names == schema_of(table).names
        properties = lakehouse.engine.get_properties(uri)
        assert properties["delta.enableChangeDataFeed"] == "true"
        assert properties["delta.enableDeletionVectors"] == "false"


def test_fifty_audit_rows_and_their_alerts_land_in_one_commit_each(
    lakehouse: Lakehouse, store: MetadataStore
) -> None:
    store.ensure_tables()
    audit = AuditTrail(store, "run-1")
    for i in range(50):
        audit.record(AuditStep(OperationType.TableSync, table=f"table_{i}"))
        audit.alert("MaintenanceFailed", f"alert {i}")

    audit.flush()
    audit.flush()

    for table in (MetadataTable.SyncAuditLog, MetadataTable.Alerts):
        uri = lakehouse.metadata_uri(table)
        assert lakehouse.engine.state(uri).version == 1
        assert lakehouse.engine.read(uri).num_rows == 50


def test_upsert_rows_naming_different_columns_keep_the_values_they_omit(
    store: MetadataStore,
) -> None:
    store.upsert(
        MetadataTable.PipelineConfig,
        [
            {"TableName": "account", "PurgePending": True, "PurgeStatus": "Recorded"},
            {"TableName": "contact", "PurgePending": True, "PurgeStatus": "Recorded"},
        ],
        key="TableName",
    )

    store.upsert(
        MetadataTable.PipelineConfig,
        [
            {"TableName": "account", "LastSyncDate": date(2026, 1, 2), "PurgePending": False},
            {"TableName": "contact", "LastSyncDate": date(2026, 1, 2)},
            {"TableName": "donation", "LastSyncDate": date(2026, 1, 2)},
        ],
        key="TableName",
    )

    rows = {r["TableName"]: r for r in store.rows(MetadataTable.PipelineConfig)}
    facts = {t: (r["PurgePending"], r["PurgeStatus"], r["LastSyncDate"]) for t, r in rows.items()}
    assert facts == {
        "account": (False, "Recorded", date(2026, 1, 2)),
        "contact": (True, "Recorded", date(2026, 1, 2)),
        "donation": (None, None, date(2026, 1, 2)),
    }
