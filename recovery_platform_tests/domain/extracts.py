"""Hand-made extracts and small lakehouse helpers, so tests know every expected count exactly."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from recovery_platform.domain.lakehouse.location import Lakehouse
from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable
from recovery_platform.domain.lakehouse.table_config import load_platform_config
from recovery_platform.sources import extract_path, write_extract

CREATED = datetime(2020, 1, 1, tzinfo=UTC)
MODIFIED = datetime(2025, 1, 1, tzinfo=UTC)
PARENT_COLUMNS = {
    "contact": {"parentcustomerid": "account"},
    "donation": {"accountid": "account", "contactid": "contact"},
    "activitypointer": {"regardingobjectid": "account"},
}


def keys(table: str, start: int, stop: int) -> list[str]:
    """Keys `<table>-0000` ... for a half-open range."""
    return [f"{table}-{i:04d}" for i in range(start, stop)]


def extract_rows(
    table: str,
    ids: Sequence[str],
    *,
    tag: str = "",
    created: Mapping[str, datetime] | None = None,
    parents: Mapping[str, Sequence[str | None] | str | None] | None = None,
) -> pa.Table:
    """An extract of `table` with the declared columns, one row per key.

    `tag` changes a text column so a sync sees those rows as updated; `created` overrides
    `createdon` per key; `parents` gives foreign-key values per relation column (a single value
    or one per key); by default a foreign key points at `<parent>-0000`.
    """
    spec = load_platform_config().table(table)
    created = created or {}
    parents = parents or {}
    columns: dict[str, list[Any]] = {}
    for column in spec.columns:
        name = column.name
        if name == spec.primary_key:
            values: list[Any] = list(ids)
        elif name in PARENT_COLUMNS.get(table, {}):
            given = parents.get(name, f"{PARENT_COLUMNS[table][name]}-0000")
            values = list(given) if isinstance(given, list | tuple) else [given] * len(ids)
        elif name == "createdon":
            values = [created.get(k, CREATED) for k in ids]
        elif name == "modifiedon":
            values = [MODIFIED] * len(ids)
        elif column.type == "string":
            values = [f"{name}-{k}{tag}" for k in ids]
        elif column.type == "float64":
            values = [10.0] * len(ids)
        elif column.type == "int64":
            values = [30] * len(ids)
        elif column.type == "date":
            values = [date(2025, 1, 1)] * len(ids)
        else:
            raise AssertionError(f"no test value for {column.type}")
        columns[name] = values
    return pa.table(columns, schema=spec.extract_schema())


def land(landing: Path, table: str, day: date, rows: pa.Table) -> Path:
    """Write `rows` as the extract of `table` for `day`."""
    return write_extract(landing, table, day, rows)


def land_keys(landing: Path, table: str, day: date, ids: Iterable[str], **options: Any) -> Path:
    """Land an extract of `table` holding exactly `ids`."""
    return land(landing, table, day, extract_rows(table, list(ids), **options))


def drop_rows(landing: Path, table: str, day: date, count: int, *, present_on: date) -> list[str]:
    """Re-land `day`'s extract without `count` keys that were in `present_on`'s; return them.

    Dropping keys the previous extract had makes each one an active bronze row going missing.
    """
    spec = load_platform_config().table(table)
    data = pq.read_table(extract_path(landing, table, day))
    before = pq.read_table(extract_path(landing, table, present_on))
    earlier = set(before.column(spec.primary_key).to_pylist())
    candidates = sorted(k for k in data.column(spec.primary_key).to_pylist() if k in earlier)
    dropped = candidates[:count]
    assert len(dropped) == count, f"{table} has only {len(candidates)} keys to drop"
    keep = pc.invert(pc.is_in(data.column(spec.primary_key), value_set=pa.array(dropped)))
    land(landing, table, day, data.filter(keep))
    return dropped


def bronze_rows(lakehouse: Lakehouse, table: str) -> dict[str, dict[str, Any]]:
    """The bronze table's rows by key."""
    spec = lakehouse.config.table(table)
    data = lakehouse.engine.read(lakehouse.bronze_uri(table))
    return {row[spec.primary_key]: row for row in data.to_pylist()}


def metadata_version(lakehouse: Lakehouse, table: MetadataTable) -> int | None:
    """The current version of a metadata table, None if it does not exist."""
    uri = lakehouse.metadata_uri(table)
    if not lakehouse.engine.table_exists(uri):
        return None
    return lakehouse.engine.state(uri).version


def metadata_versions(lakehouse: Lakehouse) -> dict[str, int | None]:
    """Versions of every metadata table: equal before and after means nothing was written."""
    return {t.value: metadata_version(lakehouse, t) for t in MetadataTable}


def delta_log_snapshot(lakehouse: Lakehouse, table: str) -> dict[str, bytes]:
    """Every file under a bronze table's `_delta_log`, by relative path, with its bytes."""
    log = Path(lakehouse.bronze_uri(table)) / "_delta_log"
    return {str(p.relative_to(log)): p.read_bytes() for p in sorted(log.rglob("*")) if p.is_file()}


def land_small_crm(landing: Path, day: date, count: int = 20) -> None:
    """Land `count` rows of every declared table for `day`, all foreign keys resolving."""
    for table in load_platform_config().table_names:
        land_keys(landing, table, day, keys(table, 0, count))


def bronze_row(lakehouse: Lakehouse, table: str, key: str | None, **values: Any) -> pa.Table:
    """One row of `table` in its current bronze schema, `values` overriding; new names are added."""
    spec = lakehouse.config.table(table)
    data = extract_rows(table, ["placeholder"]).to_pylist()[0]
    data.update({spec.primary_key: key, "IsDeleted": False, "IsPurged": False})
    data["LastSynced"] = MODIFIED
    data.update(values)
    schema = lakehouse.engine.schema(lakehouse.bronze_uri(table))
    for name in values:
        if name not in schema.names:
            schema = schema.append(pa.field(name, pa.string()))
    return pa.Table.from_pylist([data], schema=schema)
