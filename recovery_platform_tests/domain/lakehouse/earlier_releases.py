"""Lakehouses as earlier releases left them, built from the schemas the migration steps imply.

No binary fixture is checked in: the version-1 schemas are today's schemas with every later step
undone (`schema_at`), and `BASELINE_DIGEST` pins them.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from recovery_platform.domain.lakehouse.location import PLATFORM_TABLE_PROPERTIES, Lakehouse
from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable
from recovery_platform.domain.lakehouse.migration_steps import MIGRATIONS, Migration, schema_at

WHEN = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)

HISTORY: Mapping[MetadataTable, list[dict[str, Any]]] = {
    MetadataTable.CheckpointHistory: [
        {"CheckpointId": f"cp-{i}", "CheckpointName": f"bronze_backup_2026-01-0{5 + i}",
         "CheckpointType": "DailyBatch", "CreatedDate": WHEN, "TablesIncluded": 4,
         "TotalRows": 1000 + i, "ValidationStatus": "Validated",
         "RetentionDate": WHEN.date(), "IsActive": True, "Notes": f"day {i}"}
        for i in range(3)
    ],
    MetadataTable.SyncAuditLog: [
        {"AuditId": f"a-{i}", "PipelineRunId": "run-1", "OperationType": "TableSync",
         "TableName": "account", "Status": status, "StartTime": WHEN, "RowsRead": 10 * i,
         "DetailsJson": f'{{"day": {i}}}'}
        for i, status in enumerate(["Succeeded", "Warning", "Held", "Warning"])
    ],
    MetadataTable.Alerts: [
        {"AlertId": f"al-{i}", "PipelineRunId": "run-1", "CreatedAt": WHEN, "Severity": severity,
         "AlertType": kind, "TableName": "account", "Message": f"alert {i}",
         "DeliveryStatus": "Pending"}
        for i, (severity, kind) in enumerate([("Critical", "SyncFailed"), ("Critical", "SyncHeld"),
                                              ("Warning", "CheckpointFailed"), ("Info", "Test")])
    ],
}
"""Rows an earlier release wrote: they must survive every migration with their values."""


def build_at_version(
    lakehouse: Lakehouse, version: int, migrations: Sequence[Migration] = MIGRATIONS
) -> None:
    """Every metadata table as it was at `version`, with `HISTORY` written in its columns."""
    engine = lakehouse.engine
    for table in MetadataTable:
        schema = schema_at(table, version, migrations)
        if schema is None:
            continue
        uri = lakehouse.metadata_uri(table)
        engine.create_table(uri, schema, properties=PLATFORM_TABLE_PROPERTIES)
        rows = HISTORY.get(table)
        if rows:
            kept = [{k: v for k, v in r.items() if k in schema.names} for r in rows]
            engine.append(uri, pa.Table.from_pylist(kept, schema=schema))


def metadata_logs(lakehouse: Lakehouse) -> dict[str, bytes]:
    """Every file of every metadata table's Delta log, with its bytes: proof nothing was written."""
    found = {}
    for table in MetadataTable:
        log = Path(lakehouse.metadata_uri(table)) / "_delta_log"
        found |= {f"{table.value}/{p.relative_to(log)}": p.read_bytes()
                  for p in sorted(log.rglob("*")) if p.is_file()}
    return found


def downgrade_to(
    lakehouse: Lakehouse, version: int, migrations: Sequence[Migration] = MIGRATIONS
) -> None:
    """Turn a local lakehouse written by this release into one an earlier release left behind."""
    engine = lakehouse.engine
    for table in MetadataTable:
        uri = lakehouse.metadata_uri(table)
        if not engine.table_exists(uri):
            continue
        schema = schema_at(table, version, migrations)
        if schema is None:
            shutil.rmtree(Path(uri))
        elif engine.schema(uri) != schema:
            engine.overwrite(uri, engine.read(uri).select(schema.names).cast(schema))
