"""Reads and batched writes of the metadata tables, through the engine seam only."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa

from recovery_platform.domain.lakehouse.location import PLATFORM_TABLE_PROPERTIES, Lakehouse
from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable, schema_of
from recovery_platform.domain.lakehouse.migrations import migrate
from recovery_platform.engine import Scalar


class MetadataStore:
    """The metadata tables of one lakehouse.

    Every write is one commit however many rows it carries: an operation over 50 tables writes
    its 50 audit rows in one transaction, not 50.
    """

    def __init__(self, lakehouse: Lakehouse) -> None:
        self.lakehouse = lakehouse
        self.engine = lakehouse.engine
        self._ensured: set[MetadataTable] = set()
        self._current = False

    def ensure_tables(self, run_id: str = "") -> None:
        """Bring the metadata to this release's schema, then create any table still missing.

        One read of the schema version when the lakehouse is current, and none again through
        the same store (a run asks from its Dagster op and from the domain call it makes); see
        `migrations.migrate` for what happens when it is not (and for the errors it raises).
        """
        if self._current:
            return
        status = migrate(self.lakehouse, run_id=run_id)
        if status.pending or status.is_new:
            for table in MetadataTable:
                self._ensure(table)
        self._current = True

    def _ensure(self, table: MetadataTable) -> str:
        uri = self.lakehouse.metadata_uri(table)
        if table not in self._ensured:
            if not self.engine.table_exists(uri):
                self.engine.create_table(
                    uri, schema_of(table), properties=PLATFORM_TABLE_PROPERTIES
                )
            self._ensured.add(table)
        return uri

    def append(
        self,
        table: MetadataTable,
        rows: Sequence[Mapping[str, Any]],
        *,
        commit_metadata: Mapping[str, str] | None = None,
    ) -> int | None:
        """Append rows in a single commit; returns the version, or None when there are none."""
        if not rows:
            return None
        uri = self._ensure(table)
        data = pa.Table.from_pylist([dict(r) for r in rows], schema=schema_of(table))
        return self.engine.append(uri, data, commit_metadata=commit_metadata)

    def upsert(
        self, table: MetadataTable, rows: Sequence[Mapping[str, Any]], *, key: str
    ) -> int | None:
        """Insert or update rows by `key` in one commit; columns absent from a row keep values.

        Rows may name different columns: a column one row omits keeps that row's stored value
        (null for a new row), instead of being overwritten with null by the shared merge.
        """
        if not rows:
            return None
        uri = self._ensure(table)
        columns = list(dict.fromkeys(c for r in rows for c in r))
        if any(len(r) != len(columns) for r in rows):
            rows = self._with_stored_values(table, rows, key, columns)
        schema = pa.schema([schema_of(table).field(c) for c in columns])
        data = pa.Table.from_pylist([dict(r) for r in rows], schema=schema)
        return self.engine.merge_upsert(uri, data, key=key)

    def _with_stored_values(
        self, table: MetadataTable, rows: Sequence[Mapping[str, Any]], key: str, columns: list[str]
    ) -> list[dict[str, Any]]:
        """Complete each row with the stored values of the columns it omits."""
        stored = {r[key]: r for r in self.read(table, columns=columns).to_pylist()}
        return [
            {c: row[c] if c in row else stored.get(row[key], {}).get(c) for c in columns}
            for row in rows
        ]

    def update(
        self,
        table: MetadataTable,
        *,
        equals: Mapping[str, Scalar],
        values: Mapping[str, Scalar],
    ) -> int:
        """Set `values` where columns equal `equals`, in one commit."""
        return self.engine.update_where(self._ensure(table), equals=equals, values=values)

    def read(
        self,
        table: MetadataTable,
        *,
        equals: Mapping[str, Scalar] | None = None,
        columns: Sequence[str] | None = None,
    ) -> pa.Table:
        """Rows of a metadata table; an absent table reads as empty."""
        uri = self.lakehouse.metadata_uri(table)
        if not self.engine.table_exists(uri):
            empty = schema_of(table).empty_table()
            return empty.select(list(columns)) if columns else empty
        return self.engine.read(uri, equals=equals, columns=columns)

    def rows(
        self, table: MetadataTable, *, equals: Mapping[str, Scalar] | None = None
    ) -> list[dict[str, Any]]:
        """Rows as dictionaries, for the small result sets the domain inspects."""
        return self.read(table, equals=equals).to_pylist()
